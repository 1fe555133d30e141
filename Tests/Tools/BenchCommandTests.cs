using System.Text.Json;
using SamEngine.Tools;

namespace SamEngine.Tests.Tools;

/// <summary>
/// `sam bench` and `sam profile` end to end on the small "mini" architecture (random weights,
/// 256² image): every stage runs, the JSON carries the numbers, the trace parses. No timing
/// thresholds: speed is measured by the bench, not asserted by tests.
/// </summary>
public sealed class BenchCommandTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sam-bench-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (int Code, string Stdout, string Stderr) Sam(params string[] args) => SamCli.Run(args);

    [Fact]
    public void JsonHasEveryStageWithPositiveTimes()
    {
        var (code, stdout, stderr) = Sam("bench", "--arch", "mini", "--repeat", "1", "--json", "--device", "cpu");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        foreach (var key in new[] { "encoder_ms", "decoder_ms", "decoder_batch64_ms", "peak_gflops", "encoder_gflop", "weights_bytes", "encoder_pool_peak_bytes" })
            Assert.True(root.GetProperty(key).GetDouble() > 0, $"{key} = {root.GetProperty(key)}");
        Assert.Equal("mini", root.GetProperty("arch").GetString());
        Assert.Equal("cpu", root.GetProperty("device").GetString());
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("threads").GetInt32());
        // One warm-up, then the timed runs: one for the encoder, at least 10 and 3 for the decoders.
        Assert.Equal(1, root.GetProperty("encoder_runs_ms").GetArrayLength());
        Assert.Equal(10, root.GetProperty("decoder_runs_ms").GetArrayLength());
        Assert.Equal(3, root.GetProperty("decoder_batch64_runs_ms").GetArrayLength());
        // AMG: the whole 32×32 grid of prompts, the image encoded once.
        Assert.True(root.GetProperty("amg_ms").GetDouble() > 0);
        Assert.Equal(32 * 32, root.GetProperty("amg_prompts").GetInt32());
        Assert.True(root.GetProperty("amg_encoder_ms").GetDouble() > 0);
        Assert.True(root.GetProperty("amg_decoder_ms").GetDouble() > 0);

        // The encoder of width 256, depth 4 on a 16×16 grid: 4 blocks × (qkv, proj, lin1, lin2) GEMMs
        // plus the neck's two convolutions and the patch embedding as GEMMs, one fused attention per block.
        var kernels = root.GetProperty("encoder_kernels").EnumerateArray().ToDictionary(k => k.GetProperty("kernel").GetString()!, k => k.GetProperty("calls").GetInt32());
        Assert.Equal(4, kernels["attention"]);
        Assert.Equal(4 * 4 + 3, kernels["gemm"]);
    }

    [Fact]
    public void StagesTimesOnlyTheChosenStages()
    {
        var (code, stdout, stderr) = Sam("bench", "--arch", "mini", "--repeat", "1", "--json", "--device", "cpu", "--stages", "decoder");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(10, root.GetProperty("decoder_runs_ms").GetArrayLength());
        Assert.True(root.GetProperty("decoder_ms").GetDouble() > 0);
        foreach (var skipped in new[] { "encoder", "decoder_batch64", "amg", "amg_postprocess" })
        {
            Assert.Equal(0, root.GetProperty(skipped + "_runs_ms").GetArrayLength());
            Assert.Equal(JsonValueKind.Null, root.GetProperty(skipped + "_ms").ValueKind);
        }
        var (textCode, text, _) = Sam("bench", "--arch", "mini", "--repeat", "1", "--device", "cpu", "--stages", "decoder_batch64");
        Assert.Equal(0, textCode);
        Assert.Contains("64 points", text);
        Assert.DoesNotContain("image encoder", text);
    }

    [Fact]
    public void AmgPostprocessStagePostprocessesEveryCandidate()
    {
        var (code, stdout, stderr) = Sam("bench", "--arch", "mini", "--repeat", "1", "--json", "--device", "cpu", "--stages", "amg_postprocess");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(0, root.GetProperty("amg_runs_ms").GetArrayLength());
        Assert.Equal(1, root.GetProperty("amg_postprocess_runs_ms").GetArrayLength());
        // With the IoU and stability filters off, all three masks of each of the 32×32 prompts are upscaled, scored and encoded.
        Assert.Equal(32 * 32, root.GetProperty("amg_postprocess_prompts").GetInt32());
        Assert.Equal(3 * 32 * 32, root.GetProperty("amg_postprocess_masks_scored").GetInt32());
        Assert.True(root.GetProperty("amg_postprocess_masks").GetInt32() > 0);
        foreach (var key in new[] { "amg_postprocess_ms", "amg_postprocess_cpu_ms_per_run", "amg_postprocess_encoder_ms", "amg_postprocess_decoder_ms", "amg_postprocess_postprocess_ms" })
            Assert.True(root.GetProperty(key).GetDouble() > 0, $"{key} = {root.GetProperty(key)}");

        var (textCode, text, _) = Sam("bench", "--arch", "mini", "--repeat", "1", "--device", "cpu", "--stages", "amg_postprocess");
        Assert.Equal(0, textCode);
        Assert.Contains("amg_postprocess, last run: encoder_ms", text);
        Assert.Contains("masks_scored 3072", text);
    }

    [Fact]
    public void ProfileWritesAChromeTraceOfEveryLaunch()
    {
        var trace = Path.Combine(dir, "trace.json");
        var (code, stdout, stderr) = Sam("profile", "--arch", "mini", "--json", "--device", "cpu", "--trace", trace);
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        Assert.Equal(1, report.RootElement.GetProperty("encoder_runs_ms").GetArrayLength());

        using var json = JsonDocument.Parse(File.ReadAllText(trace));
        var events = json.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        Assert.NotEmpty(events);
        Assert.All(events, e =>
        {
            Assert.Equal("X", e.GetProperty("ph").GetString());
            Assert.True(e.GetProperty("dur").GetDouble() >= 0);
            Assert.True(e.GetProperty("ts").GetDouble() >= 0);
        });
        // Stages follow each other on one clock: the encoder's launches, then the decoders'.
        var encoder = events.Where(e => e.GetProperty("cat").GetString()!.StartsWith("encoder")).ToList();
        var decoder = events.Where(e => e.GetProperty("cat").GetString()!.StartsWith("decoder/prompt_decoder")).ToList();
        var batch = events.Where(e => e.GetProperty("cat").GetString()!.StartsWith("decoder_batch64/prompt_decoder")).ToList();
        Assert.Contains(encoder, e => e.GetProperty("name").GetString() == "attention");
        Assert.Contains(decoder, e => e.GetProperty("name").GetString() == "gemm");
        Assert.True(encoder.Max(e => e.GetProperty("ts").GetDouble()) < decoder.Min(e => e.GetProperty("ts").GetDouble()));
        Assert.True(decoder.Max(e => e.GetProperty("ts").GetDouble()) < batch.Min(e => e.GetProperty("ts").GetDouble()));
        var amg = events.Where(e => e.GetProperty("cat").GetString()!.StartsWith("amg/")).ToList();
        Assert.Contains(amg, e => e.GetProperty("cat").GetString()!.StartsWith("amg/encoder"));
        Assert.Contains(amg, e => e.GetProperty("cat").GetString()!.StartsWith("amg/prompt_decoder"));
        Assert.Equal([OutputStamp.StampPathForFiles(trace), trace], Directory.GetFiles(dir).Order(StringComparer.Ordinal));   // no temporary file left
    }

    [Theory]
    [InlineData("unknown architecture 'vit_x'", "bench", "--arch", "vit_x")]
    [InlineData("exactly one of --arch and --model", "bench")]
    [InlineData("--repeat 0", "bench", "--arch", "mini", "--repeat", "0")]
    [InlineData("unknown stage 'decodr'", "bench", "--arch", "mini", "--stages", "decoder,decodr")]
    [InlineData("does not exist", "profile", "--arch", "mini", "--trace", "/nonexistent-folder/t.json")]
    public void BadRequestsFailWithOneLine(string message, params string[] args)
    {
        var (code, _, stderr) = Sam(args);
        Assert.Equal(1, code);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Trim().Split('\n'), l => l.StartsWith("sam: error:"));
    }
}
