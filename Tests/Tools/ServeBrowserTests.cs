using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SamEngine.Model;
using SamEngine.Server;
using StbImageSharp;
using Xunit.Abstractions;

namespace SamEngine.Tests.Tools;

/// <summary>
/// `sam serve`'s page in a real browser (Debian's Chromium, driven by Playwright): open
/// shapes.png, hover, a foreground and a background point, a box, the second candidate, the
/// exports, then Everything. What the page draws is checked pixel for pixel against the same
/// predict asked over HTTP, decoded here independently of the page. Screenshots are kept in
/// bin/…/artifacts/serve/. Skipped where Chromium or the sam-mini fixtures are absent.
/// </summary>
public sealed class ServeBrowserTests(ITestOutputHelper output)
{
    const string ChromiumPath = "/usr/bin/chromium";
    const string Token = "browser-test-token";
    static readonly string Artifacts = Path.Combine(AppContext.BaseDirectory, "artifacts", "serve");

    [SkippableFact]
    public async Task PagePromptsExportsAndDrawsWhatTheApiAnswers()
    {
        Skip.IfNot(File.Exists(ChromiumPath), $"{ChromiumPath} not found: the browser test needs Debian's chromium (apt-get install --no-install-recommends chromium)");
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var shapesPath = Fixtures.Require("sam-mini/shapes.png");
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(Artifacts);
        var shapes = ImageLoader.Decode(File.ReadAllBytes(shapesPath), "shapes.png");
        int w = shapes.Width, h = shapes.Height;

        using var service = new SamService(new ServeOptions { Model = model, Port = 0, Device = "cpu", Token = Token });
        await using var app = SamServer.Build(service);
        await app.StartAsync();
        var url = app.Urls.First();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        using var playwright = await CreatePlaywright();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        await using var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        var pageErrors = new List<string>();
        page.PageError += (_, e) => pageErrors.Add(e);
        page.Console += (_, m) => { if (m.Type == "error") pageErrors.Add("console: " + m.Text); };

        // The token comes from the page's URL and goes on every API call as a bearer token.
        await page.GotoAsync($"{url}/?token={Token}");
        await page.WaitForFunctionAsync("() => window.sam && window.sam.state.info != null");
        Assert.Equal("sam_mini.pth", await page.EvaluateAsync<string>("() => window.sam.state.info.model"));
        Assert.True(await page.Locator("#random-banner").IsHiddenAsync()); // a checkpoint: not random weights

        // Open the image: pending, then ready.
        await page.SetInputFilesAsync("#file", shapesPath);
        await page.WaitForFunctionAsync("() => window.sam.status() === 'ready'", null, new() { Timeout = 60_000 });
        StringAssert(await page.TextContentAsync("#status-text"), "ready");
        var imageId = await page.EvaluateAsync<string>("() => window.sam.state.image.id");
        var box = await page.Locator("#overlay").BoundingBoxAsync() ?? throw new Xunit.Sdk.XunitException("no overlay canvas on the page");
        // Image pixel (x, y) → page coordinates, at the pixel's centre.
        (float X, float Y) At(double x, double y) => ((float)(box.X + (x + 0.5) * box.Width / w), (float)(box.Y + (y + 0.5) * box.Height / h));

        // Hover: a preview mask from a predict with the hover point, and no committed prompt.
        var hoverRequest = page.WaitForRequestAsync(r => r.Url.EndsWith("/predict"));
        var (hx, hy) = At(450, 300);
        await page.Mouse.MoveAsync(hx, hy);
        var hovered = JsonNode.Parse((await hoverRequest).PostData!)!;
        Assert.Single(hovered["points"]!.AsArray());
        await page.WaitForFunctionAsync("() => window.sam.state.hover != null");
        Assert.Equal(0, await page.EvaluateAsync<int>("() => window.sam.current().points.length"));
        Assert.Null((await CurrentJson(page))["response"]);

        // A foreground point, a background point (right-click), a box (drag).
        await page.Mouse.ClickAsync(hx, hy);
        await WaitCommitted(page, points: 1, hasBox: false);
        var first = await CurrentJson(page);
        Assert.Null(first["prompt"]!["mask_input"]); // nothing to feed back yet
        var (bx, by) = At(800, 500);
        await page.Mouse.ClickAsync(bx, by, new() { Button = MouseButton.Right });
        await WaitCommitted(page, points: 2, hasBox: false);
        var (d0x, d0y) = At(250, 180);
        var (d1x, d1y) = At(670, 440);
        await page.Mouse.MoveAsync(d0x, d0y);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((d0x + d1x) / 2, (d0y + d1y) / 2, new() { Steps = 4 });
        await page.Mouse.MoveAsync(d1x, d1y, new() { Steps = 4 });
        await page.Mouse.UpAsync();
        await WaitCommitted(page, points: 2, hasBox: true);

        // Candidates 3 and 1 by their keys, then the second one picked in the list.
        await page.Keyboard.PressAsync("3");
        await page.WaitForFunctionAsync("() => window.sam.current().selected === 2");
        var thirdBits = await SelectedMaskBits(page, w, h);
        await page.Keyboard.PressAsync("1");
        await page.WaitForFunctionAsync("() => window.sam.current().selected === 0");
        var firstBits = await SelectedMaskBits(page, w, h);
        await page.ClickAsync(".candidate[data-index='1']");
        await page.WaitForFunctionAsync("() => window.sam.current().selected === 1");
        var current = await CurrentJson(page);
        var prompt = current["prompt"]!.AsObject();
        Assert.Equal("[1,0]", prompt["labels"]!.ToJsonString());
        AssertNear([450.5, 300.5, 800.5, 500.5], prompt["points"]!.AsArray().SelectMany(p => p!.AsArray().Select(v => (double)v!)).ToArray(), 1);
        AssertNear([250.5, 180.5, 670.5, 440.5], prompt["box"]!.AsArray().Select(v => (double)v!).ToArray(), 1);
        Assert.True((bool)prompt["multimask"]!);
        Assert.NotNull(prompt["mask_input"]); // the previous committed prediction, fed back
        output.WriteLine($"the page's last prompt: {prompt.ToJsonString()}");

        // The same predict over HTTP; its second mask decoded here must be what the page draws.
        var api = await PostJson(http, $"/api/images/{imageId}/predict", prompt.ToJsonString());
        var apiMasks = api["masks"]!.AsArray();
        var pageMasks = current["response"]!["masks"]!.AsArray();
        Assert.Equal(apiMasks.Count, pageMasks.Count);
        for (int k = 0; k < apiMasks.Count; k++)
            Assert.Equal(apiMasks[k]!["segmentation"]!.ToJsonString(), pageMasks[k]!["segmentation"]!.ToJsonString());
        var expectedMasks = apiMasks.Select(m => DecodeRle(m!["segmentation"]!, h, w)).ToArray();
        var drawn = await SelectedMaskBits(page, w, h);
        var drawnMasks = new[] { firstBits, drawn, thirdBits };
        for (int k = 0; k < 3; k++)
        {
            int area = expectedMasks[k].Count(b => b);
            Assert.Equal((int)apiMasks[k]!["area"]!, area);
            output.WriteLine($"candidate {k + 1}: area {area} of {w * h}, predicted IoU {apiMasks[k]!["predicted_iou"]}");
            AssertSameMask(expectedMasks[k], drawnMasks[k], w, h, $"the overlay's mask of candidate {k + 1}");
            // The project's own encoder agrees with the counts the page decoded.
            Assert.Equal(apiMasks[k]!["segmentation"]!["counts"]!.AsArray().Select(c => (int)c!), Rle.Encode(drawnMasks[k], h, w).Counts);
        }
        // At least one candidate neither empty nor whole, or the comparison would prove little.
        Assert.Contains(expectedMasks, m => m.Count(b => b) is var a && a > w * h / 20 && a < w * h * 19 / 20);
        var expected = expectedMasks[1];

        await page.Mouse.MoveAsync(box.X + box.Width + 100, box.Y + 10); // off the image: no hover preview
        await page.WaitForFunctionAsync("() => window.sam.state.hover == null");
        await Screenshot(page, "prompt.png");

        // Exports: the mask, the cut-out, the candidates as COCO RLE.
        var maskPng = await Download(page, "#export-mask", "shapes.mask.png");
        var maskImage = ImageLoader.Decode(maskPng, "mask.png");
        Assert.Equal((w, h), (maskImage.Width, maskImage.Height));
        for (int i = 0; i < w * h; i++)
            if (maskImage.Pixels[3 * i] != (expected[i] ? 255 : 0) || maskImage.Pixels[3 * i + 1] != maskImage.Pixels[3 * i] || maskImage.Pixels[3 * i + 2] != maskImage.Pixels[3 * i])
                throw new Xunit.Sdk.XunitException($"the mask PNG differs at ({i % w}, {i / w}): {maskImage.Pixels[3 * i]}");
        var cutoutPng = await Download(page, "#export-cutout", "shapes.cutout.png");
        Assert.Equal(6, cutoutPng[25]); // IHDR colour type 6: RGBA
        Assert.Equal((w, h), (ImageLoader.Decode(cutoutPng, "cutout.png") is var c ? (c.Width, c.Height) : default));
        var cutout = ImageResult.FromMemory(cutoutPng, ColorComponents.RedGreenBlueAlpha);
        for (int i = 0; i < w * h; i++)
        {
            byte alpha = cutout.Data[4 * i + 3];
            if (alpha != (expected[i] ? 255 : 0)) throw new Xunit.Sdk.XunitException($"the cut-out's alpha at ({i % w}, {i / w}) is {alpha}");
            if (expected[i])
                for (int ch = 0; ch < 3; ch++)
                    if (cutout.Data[4 * i + ch] != shapes.Pixels[3 * i + ch])
                        throw new Xunit.Sdk.XunitException($"the cut-out's pixel ({i % w}, {i / w}) is not the image's");
        }
        var candidatesJson = JsonNode.Parse(await Download(page, "#export-json", "shapes.masks.json"))!.AsArray();
        AssertCocoRecords(apiMasks, candidatesJson);

        // Everything: a small grid with the filters off, so that random-ish weights keep masks.
        await page.FillAsync("#points-per-side", "8");
        await page.FillAsync("#pred-iou-thresh", "0");
        await page.FillAsync("#stability-thresh", "0");
        var amgRequest = page.WaitForRequestAsync(r => r.Url.EndsWith("/amg"));
        await page.ClickAsync("#everything");
        var amgOptions = (await amgRequest).PostData!;
        await page.WaitForFunctionAsync("() => window.sam.record.amgCount != null", null, new() { Timeout = 60_000 });
        // The API answers as amg.py's json.dump writes: NaN where an empty mask's stability is 0/0.
        var amgText = await (await Send(http, HttpMethod.Post, $"/api/images/{imageId}/amg", amgOptions)).Content.ReadAsStringAsync();
        var records = JsonNode.Parse(amgText.Replace("NaN", "null"))!.AsArray();
        Assert.NotEmpty(records);
        Assert.Equal(records.Count, await page.EvaluateAsync<int>("() => window.sam.record.amgCount"));
        Assert.Equal(records.Count, await page.EvaluateAsync<int>("() => window.sam.record.drawnAmgMasks"));
        StringAssert(await page.TextContentAsync("#status-text"), $"{records.Count} mask");

        // A click in everything mode selects the smallest mask under the cursor.
        var masks = records.Select(r => DecodeRle(r!["segmentation"]!, h, w)).ToArray();
        var (px, py) = (450, 300);
        var under = Enumerable.Range(0, masks.Length).Where(i => masks[i][py * w + px]).ToArray();
        Assert.NotEmpty(under);
        int smallest = under.MinBy(i => (int)records[i]!["area"]!);
        var (cx, cy) = At(px, py);
        await page.Mouse.ClickAsync(cx, cy);
        await page.WaitForFunctionAsync("() => window.sam.state.amg.selected != null");
        AssertSameMask(masks[smallest], await SelectedMaskBits(page, w, h), w, h, "the selected Everything mask");
        output.WriteLine($"Everything: {records.Count} masks; under ({px}, {py}) the smallest is {smallest}, area {records[smallest]!["area"]}");
        await Screenshot(page, "everything.png");
        var amgJson = JsonNode.Parse(await Download(page, "#export-json", "shapes.masks.json"))!.AsArray();
        AssertCocoRecords(records, amgJson);

        Assert.True(pageErrors.Count == 0, "errors in the page:\n" + string.Join("\n", pageErrors));
        output.WriteLine($"browser test: {clock.Elapsed.TotalSeconds:F1} s, {records.Count} Everything masks");
    }

    /// <summary>
    /// Playwright's driver is node running the package's JS, both copied by its build targets
    /// to bin/…/.playwright (node under node/RID/). Where that node is missing or cannot run
    /// (a copied bin without its executable bit, another libc), the system's node (20 or later)
    /// runs the driver instead: PLAYWRIGHT_NODEJS_PATH.
    /// </summary>
    async Task<IPlaywright> CreatePlaywright()
    {
        var rid = System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier;
        var bundled = Path.Combine(AppContext.BaseDirectory, ".playwright", "node", rid, "node");
        var problem = NodeProblem(bundled);
        if (problem != null && Environment.GetEnvironmentVariable("PLAYWRIGHT_NODEJS_PATH") == null)
        {
            var system = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(dir => Path.Combine(dir, "node")).FirstOrDefault(p => NodeProblem(p) == null);
            if (system == null) throw new Xunit.Sdk.XunitException($"Playwright's node {problem}, and there is no node on PATH to run its driver");
            output.WriteLine($"Playwright's node {problem}: the driver runs on {system}");
            Environment.SetEnvironmentVariable("PLAYWRIGHT_NODEJS_PATH", system);
        }
        return await Playwright.CreateAsync();
    }

    /// <summary>Null if `node --version` runs; else what is wrong.</summary>
    static string? NodeProblem(string node)
    {
        if (!File.Exists(node)) return $"{node} is missing";
        try
        {
            using var p = Process.Start(new ProcessStartInfo(node, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(20_000)) { p.Kill(); return $"{node} --version did not answer"; }
            return p.ExitCode == 0 ? null : $"{node} --version failed ({p.ExitCode}: {stderr.Result.Trim()})";
        }
        catch (System.ComponentModel.Win32Exception e) { return $"{node} cannot run ({e.Message})"; }
    }

    static async Task WaitCommitted(IPage page, int points, bool hasBox) =>
        await page.WaitForFunctionAsync(
            $"() => {{ const c = window.sam.current(); return c.points.length === {points} && (c.box != null) === {(hasBox ? "true" : "false")} && c.response != null; }}",
            null, new() { Timeout = 30_000 });

    static async Task<JsonObject> CurrentJson(IPage page) =>
        JsonNode.Parse(await page.EvaluateAsync<string>("() => JSON.stringify(window.sam.current())"))!.AsObject();

    static async Task<bool[]> SelectedMaskBits(IPage page, int w, int h)
    {
        var bits = await page.EvaluateAsync<string>("() => window.sam.selectedMaskBits()");
        Assert.Equal(w * h, bits.Length);
        return bits.Select(b => b == '1').ToArray();
    }

    /// <summary>COCO uncompressed RLE: column-major runs, alternating 0 and 1, from 0; a row-major mask.</summary>
    static bool[] DecodeRle(JsonNode segmentation, int h, int w)
    {
        var size = segmentation["size"]!.AsArray();
        Assert.Equal((h, w), ((int)size[0]!, (int)size[1]!));
        var mask = new bool[h * w];
        long position = 0;
        bool value = false;
        foreach (var count in segmentation["counts"]!.AsArray())
        {
            int n = (int)count!;
            if (value)
                for (long p = position; p < position + n; p++) mask[(int)(p % h) * w + (int)(p / h)] = true;
            position += n;
            value = !value;
        }
        Assert.Equal((long)h * w, position);
        return mask;
    }

    static void AssertSameMask(bool[] expected, bool[] actual, int w, int h, string what)
    {
        int differ = 0, first = -1;
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != actual[i]) { differ++; if (first < 0) first = i; }
        Assert.True(differ == 0, $"{what}: {differ} of {w * h} pixels differ from the API's mask, the first at ({first % w}, {first / w})");
    }

    /// <summary>The page's export: amg.py's COCO records, each counts string as CocoRle.Encode writes it.</summary>
    static void AssertCocoRecords(JsonArray api, JsonArray exported)
    {
        Assert.Equal(api.Count, exported.Count);
        for (int i = 0; i < api.Count; i++)
        {
            var counts = api[i]!["segmentation"]!["counts"]!.AsArray().Select(c => (int)c!).ToArray();
            var record = exported[i]!;
            Assert.Equal(CocoRle.Encode(counts), (string)record["segmentation"]!["counts"]!);
            Assert.Equal(api[i]!["segmentation"]!["size"]!.ToJsonString(), record["segmentation"]!["size"]!.ToJsonString());
            Assert.Equal(api[i]!["bbox"]!.ToJsonString(), record["bbox"]!.ToJsonString());
            Assert.Equal((long)api[i]!["area"]!, (long)record["area"]!);
            Assert.Equal((double?)api[i]!["predicted_iou"], (double?)record["predicted_iou"]);
        }
    }

    static async Task<byte[]> Download(IPage page, string button, string name)
    {
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync(button));
        Assert.Equal(name, download.SuggestedFilename);
        var path = Path.Combine(Artifacts, name);
        await download.SaveAsAsync(path);
        return await File.ReadAllBytesAsync(path);
    }

    async Task Screenshot(IPage page, string name)
    {
        var path = Path.Combine(Artifacts, name);
        await page.ScreenshotAsync(new() { Path = path });
        output.WriteLine($"screenshot: {path}");
    }

    static async Task<HttpResponseMessage> Send(HttpClient http, HttpMethod method, string path, string json)
    {
        var response = await http.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    static async Task<JsonObject> PostJson(HttpClient http, string path, string json) =>
        JsonNode.Parse(await (await Send(http, HttpMethod.Post, path, json)).Content.ReadAsStringAsync())!.AsObject();

    static void AssertNear(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"value {i}: {actual[i]}, expected {expected[i]} ± {tolerance}");
    }

    static void StringAssert(string? text, string part) => Assert.Contains(part, text ?? "");
}
