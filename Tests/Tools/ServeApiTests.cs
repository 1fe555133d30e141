using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using SamEngine.Model;
using SamEngine.Server;
using SamEngine.Tests.Model;
using Xunit.Abstractions;

namespace SamEngine.Tests.Tools;

/// <summary>
/// `sam serve`'s JSON API in process over a real socket (Kestrel on a free loopback port):
/// predictions held to the sam-mini references and bit-identical to `sam segment`, the embedding
/// cache (content ids, never re-encoding, LRU, persistence across a restart) and refusals of
/// abuse as 4xx with one-line JSON errors.
/// </summary>
[Collection("console")]
public sealed class ServeApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    readonly string work = Directory.CreateTempSubdirectory("sam-serve-").FullName;
    readonly List<(SamService Service, Microsoft.AspNetCore.Builder.WebApplication App)> servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (service, app) in servers)
        {
            await app.DisposeAsync();
            service.Dispose();
        }
        Directory.Delete(work, recursive: true);
    }

    async Task<HttpClient> Start(ServeOptions? options = null)
    {
        var o = (options ?? new ServeOptions()) with { Model = Fixtures.Require("sam-mini/sam_mini.pth"), Device = "cpu", Port = 0 };
        var service = new SamService(o);
        var app = SamServer.Build(service);
        await app.StartAsync();
        servers.Add((service, app));
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(2) };
        if (o.Token != null) client.DefaultRequestHeaders.Authorization = new("Bearer", o.Token);
        return client;
    }

    static async Task<JsonObject> Json(HttpResponseMessage r) => (JsonObject)JsonNode.Parse(await r.Content.ReadAsStringAsync())!;

    static async Task<string> UploadReady(HttpClient client, byte[] bytes)
    {
        var up = await Json(await client.PostAsync("/api/images", new ByteArrayContent(bytes)));
        var id = (string)up["id"]!;
        for (int i = 0; i < 600 && (string?)up["status"] == "pending"; i++)
        {
            await Task.Delay(50);
            up = await Json(await client.GetAsync($"/api/images/{id}"));
        }
        Assert.Equal("ready", (string?)up["status"]);
        return id;
    }

    static bool[] Decode(JsonNode segmentation)
    {
        var size = segmentation["size"]!.AsArray();
        var counts = segmentation["counts"]!.AsArray().Select(c => (int)c!).ToArray();
        return new Rle((int)size[0]!, (int)size[1]!, counts).Decode();
    }

    [SkippableFact]
    public async Task PredictGivesTheSegmentCommandsMasksBitForBitWithinTheReferencesBounds()
    {
        var client = await Start();
        var png = Fixtures.Require("sam-mini/shapes.png");
        var id = await UploadReady(client, File.ReadAllBytes(png));
        Assert.Equal(ImageEntry.IdOf(File.ReadAllBytes(png)), id);

        // The fixture's single_point_multimask case: the point the reference used.
        var casePrompt = FixtureFolder.ReadJson(Path.Combine(DecoderFixtures.CaseDir("shapes", "single_point_multimask"), "prompt.json"));
        var (x, y) = ((double)casePrompt["point_coords"]![0]![0]!, (double)casePrompt["point_coords"]![0]![1]!);
        var response = await client.PostAsJsonAsync($"/api/images/{id}/predict", new { points = new[] { new[] { x, y } }, labels = new[] { 1 }, multimask = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        var masks = body["masks"]!.AsArray();
        Assert.Equal(3, masks.Count);
        output.WriteLine($"predict: {(double)body["ms"]!} ms, decoder {(double)body["decoder_ms"]!} ms");

        // Against the float64 reference: pixels flipped within PyTorch float32's count + 0.01%.
        var reference = Npy.Read(Path.Combine(DecoderFixtures.CaseDir("shapes", "single_point_multimask"), "masks.npy")).ToBool();
        var api = masks.SelectMany(m => Decode(m!["segmentation"]!)).ToArray();
        Assert.Equal(reference.Length, api.Length);
        int flipped = reference.Where((v, i) => v != api[i]).Count();
        Assert.True(flipped <= 162, $"{flipped} pixels flipped against the float64 reference");

        // Against `sam segment` from the image file: the same masks, bit for bit, and the same scores.
        var outDir = Path.Combine(work, "segment");
        var (code, _, error) = SamCli.Run("segment", "--model", Fixtures.Require("sam-mini/sam_mini.pth"), "--image", png,
            "--point", FormattableString.Invariant($"{x},{y}"), "--multimask", "--out-dir", outDir, "--device", "cpu");
        Assert.True(code == 0, error);
        Assert.Equal(Npy.Read(Path.Combine(outDir, "masks.npy")).ToBool(), api);
        var iou = Npy.Read(Path.Combine(outDir, "iou_predictions.npy")).ToFloat();
        Assert.Equal(iou, masks.Select(m => (float)m!["predicted_iou"]!).ToArray());
        foreach (var m in masks)
        {
            var mask = Decode(m!["segmentation"]!);
            Assert.Equal(mask.LongCount(v => v), (long)m["area"]!);
        }

        // Fed back as the mask prompt (the official predictor's way), with a second point.
        var next = await Json(await client.PostAsJsonAsync($"/api/images/{id}/predict",
            new { points = new[] { new[] { x, y }, new[] { 100.0, 100.0 } }, labels = new[] { 1, 0 }, multimask = false, mask_input = (string)body["prediction_id"]! }));
        Assert.Single(next["masks"]!.AsArray());
    }

    [SkippableFact]
    public async Task EmbeddingsAreCachedByContentAndSurviveARestart()
    {
        var cacheDir = Path.Combine(work, "cache");
        var client = await Start(new ServeOptions { CacheDir = cacheDir });
        var bytes = File.ReadAllBytes(Fixtures.Require("sam-mini/shapes.png"));
        var id = await UploadReady(client, bytes);
        Assert.Equal(id, await UploadReady(client, bytes));   // the same bytes: the same image, not encoded again
        Assert.Equal(1, (int)(await Json(await client.GetAsync("/api/info")))["encodings"]!);

        // What the API hands out is what `sam segment --embedding` takes.
        var zip = await client.GetByteArrayAsync($"/api/images/{id}/embedding");
        var unzipped = Path.Combine(work, "emb");
        System.IO.Compression.ZipFile.ExtractToDirectory(new MemoryStream(zip), unzipped);
        var embedding = ImageEmbedding.Load(Path.Combine(unzipped, id + ".npy"));
        Assert.Equal((600, 900), embedding.OriginalSize);

        // A new server on the same cache folder: ready at once, nothing encoded.
        var restarted = await Start(new ServeOptions { CacheDir = cacheDir });
        var again = await Json(await restarted.PostAsync("/api/images", new ByteArrayContent(bytes)));
        Assert.Equal("ready", (string?)again["status"]);
        Assert.Equal(0, (int)(await Json(await restarted.GetAsync("/api/info")))["encodings"]!);
        var predicted = await restarted.PostAsJsonAsync($"/api/images/{id}/predict", new { box = new[] { 100, 100, 400, 300 } });
        Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
    }

    [SkippableFact]
    public async Task TheLeastRecentlyUsedEmbeddingIsDroppedAndEncodedAgainOnDemand()
    {
        var client = await Start(new ServeOptions { CacheMb = 1 });   // sam-mini's embeddings are 4 MB: one fits
        var shapes = await UploadReady(client, File.ReadAllBytes(Fixtures.Require("sam-mini/shapes.png")));
        var truck = await UploadReady(client, File.ReadAllBytes(Fixtures.Require("sam-mini/truck.jpg")));
        var info = await Json(await client.GetAsync("/api/info"));
        Assert.Equal(1, (int)info["cached_embeddings"]!);
        var evicted = await client.PostAsJsonAsync($"/api/images/{shapes}/predict", new { points = new[] { new[] { 450, 330 } } });
        Assert.Equal(HttpStatusCode.Conflict, evicted.StatusCode);   // encoding again, from the kept bytes
        await UploadReady(client, File.ReadAllBytes(Fixtures.Require("sam-mini/shapes.png")));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync($"/api/images/{shapes}/predict", new { points = new[] { new[] { 450, 330 } } })).StatusCode);
        Assert.NotEqual(shapes, truck);
    }

    [SkippableFact]
    public async Task MistakesAndAbuseAreOneLine4xxNever500()
    {
        var client = await Start(new ServeOptions { MaxUploadMb = 1 });
        var id = await UploadReady(client, File.ReadAllBytes(Fixtures.Require("sam-mini/shapes.png")));
        var cases = new (Func<Task<HttpResponseMessage>> Request, HttpStatusCode Status, string Says)[]
        {
            (() => client.PostAsync("/api/images", new ByteArrayContent(new byte[2 << 20])), HttpStatusCode.RequestEntityTooLarge, "larger than this server takes"),
            (() => client.PostAsync("/api/images", new ByteArrayContent(Encoding.UTF8.GetBytes("not an image"))), HttpStatusCode.BadRequest, "not a supported image"),
            (() => client.PostAsync("/api/images", new ByteArrayContent([])), HttpStatusCode.BadRequest, "empty upload"),
            (() => client.GetAsync("/api/images/0123456789abcdef0123456789abcdef"), HttpStatusCode.NotFound, "no image"),
            (() => client.GetAsync("/api/images/..%2F..%2Fetc%2Fpasswd"), HttpStatusCode.BadRequest, "is not an image id"),
            (() => client.PostAsync($"/api/images/{id}/predict", new StringContent("{points: oops")), HttpStatusCode.BadRequest, "not valid JSON"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/predict", new { }), HttpStatusCode.BadRequest, "no prompt"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/predict", new { point = new[] { 1, 2 } }), HttpStatusCode.BadRequest, "unknown field 'point'"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/predict", new { points = new[] { new[] { 5000, 10 } } }), HttpStatusCode.BadRequest, "lies outside the 900×600 image"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/predict", new { points = new[] { new[] { 5, 10 } }, labels = new[] { 7 } }), HttpStatusCode.BadRequest, "point label 7"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/predict", new { box = new[] { 10, 10, 5, 20 } }), HttpStatusCode.BadRequest, "x1 < x0"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/predict", new { mask_input = "feedfeedfeedfeed" }), HttpStatusCode.NotFound, "no prediction"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/amg", new { points_per_side = 5000 }), HttpStatusCode.BadRequest, "--points-per-side 5000: must be in [1, 512]"),
            (() => client.PostAsJsonAsync($"/api/images/{id}/amg", new { crop_everything = 1 }), HttpStatusCode.BadRequest, "unknown AMG option"),
        };
        foreach (var (request, status, says) in cases)
        {
            var r = await request();
            var text = await r.Content.ReadAsStringAsync();
            output.WriteLine($"{(int)r.StatusCode}: {text}");
            Assert.Equal(status, r.StatusCode);
            var error = (string)JsonNode.Parse(text)!["error"]!;
            Assert.Contains(says, error);
            Assert.DoesNotContain('\n', error);
        }

        var locked = await Start(new ServeOptions { Token = "s3cret" });
        var anonymous = new HttpClient { BaseAddress = locked.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/info")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/info?token=s3cret")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await locked.GetAsync("/api/info")).StatusCode);
        Assert.Contains("give --token", Assert.Throws<SamException>(() =>
            SamServer.Build(new SamService(new ServeOptions { Model = Fixtures.Require("sam-mini/sam_mini.pth"), Device = "cpu", Host = "0.0.0.0", Port = 0 }))).Message);
    }

    [SkippableFact]
    public async Task AmgRecordsAreAmgPys()
    {
        var client = await Start();
        var id = await UploadReady(client, File.ReadAllBytes(Fixtures.Require("sam-mini/shapes.png")));
        var options = FixtureFolder.ReadJson(Fixtures.Require("sam-mini/shapes/amg_params.json")).AsObject();
        var body = new JsonObject(options.Where(kv => kv.Key != "output_mode").Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())));
        var response = await client.PostAsync($"/api/images/{id}/amg", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var result = AmgVerification.Records(text);
        var reference = AmgVerification.Records(File.ReadAllText(Fixtures.Require("sam-mini/shapes/amg.json")));
        Assert.Equal(reference.Length, result.Length);
        for (int i = 0; i < result.Length; i++)
            Assert.True(AmgVerification.Iou(600, 900, result[i].Counts, reference[i].Counts) >= AmgVerification.MinIou);
    }
}
