using System.Diagnostics;
using System.Text;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SamEngine.Server;
using StbImageWriteSharp;

namespace SamEngine.Tools.Bench;

/// <summary>
/// The bench's serve stage: `sam serve` in process on a free loopback port, one image uploaded
/// and encoded, then k clients clicking m times each (one foreground point, multimask, as a
/// user's clicks and hovers are) at once: each request's round trip, and the throughput.
/// </summary>
internal static class ServeLoad
{
    static long answerBytes;

    public static StageResult Run(BenchOptions o, int clients, int clicks)
    {
        if (clients is < 1 or > 64) throw new SamException($"--clients {clients}: must be in [1, 64]");
        if (clicks is < 1 or > 10000) throw new SamException($"--clicks {clicks}: must be in [1, 10000]");
        using var service = new SamService(new ServeOptions { Model = o.Model, Arch = o.Arch ?? "vit_b", Device = o.Device, Port = 0 });
        var app = SamServer.Build(service);
        app.StartAsync().GetAwaiter().GetResult();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(10) };
            var id = UploadAndWait(http, 600, 900);
            var rng = new Random(1);
            for (int i = 0; i < 3; i++) Click(http, id, rng);   // warm-up: JIT, the decoders' first image

            var latencies = new List<double>();
            answerBytes = 0;
            var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, c =>
            {
                var own = new Random(100 + c);
                for (int i = 0; i < clicks; i++)
                {
                    double ms = Click(http, id, own);
                    lock (latencies) latencies.Add(ms);
                }
            });
            double seconds = wall.Elapsed.TotalSeconds;
            double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalMilliseconds;
            var sorted = latencies.Order().ToArray();
            return new StageResult("serve", $"sam serve: {clients} clients × {clicks} clicks on one 900×600 image (round trip)", latencies, cpuMs, [])
            {
                Details = new Dictionary<string, double>
                {
                    ["p50_ms"] = Percentile(sorted, 0.50),
                    ["p90_ms"] = Percentile(sorted, 0.90),
                    ["p99_ms"] = Percentile(sorted, 0.99),
                    ["requests_per_s"] = latencies.Count / seconds,
                    ["clients"] = clients,
                    ["clicks"] = clicks,
                    ["answer_kb"] = Math.Round(answerBytes / 1024.0 / latencies.Count, 1),
                },
            };
        }
        finally { app.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    static string UploadAndWait(HttpClient http, int height, int width)
    {
        var pixels = new byte[height * width * 3];
        new Random(7).NextBytes(pixels);
        using var png = new MemoryStream();
        new ImageWriter().WritePng(pixels, width, height, ColorComponents.RedGreenBlue, png);
        var status = Send(http.PostAsync("/api/images", new ByteArrayContent(png.ToArray())));
        var id = (string)status["id"]!;
        while ((string?)status["status"] == "pending")
        {
            Thread.Sleep(50);
            status = Send(http.GetAsync($"/api/images/{id}"));
        }
        if ((string?)status["status"] != "ready") throw new SamException($"serve bench: the image was not encoded: {status}");
        return id;
    }

    static double Click(HttpClient http, string id, Random rng)
    {
        // The answer is read whole but not parsed: a client parses on its own machine, not on the server's cores.
        var clock = Stopwatch.StartNew();
        var response = http.PostAsJsonAsync($"/api/images/{id}/predict", new { points = new[] { new[] { rng.Next(900), rng.Next(600) } }, multimask = true }).GetAwaiter().GetResult();
        var body = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        double ms = clock.Elapsed.TotalMilliseconds;
        if (!response.IsSuccessStatusCode) throw new SamException($"serve bench: {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        Interlocked.Add(ref answerBytes, body.Length);
        return ms;
    }

    static JsonObject Send(Task<HttpResponseMessage> request)
    {
        var response = request.GetAwaiter().GetResult();
        var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode) throw new SamException($"serve bench: {(int)response.StatusCode}: {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }

    static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
