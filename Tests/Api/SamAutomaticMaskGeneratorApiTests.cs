using SamEngine.Model;

namespace SamEngine.Tests.Api;

/// <summary>SamAutomaticMaskGenerator as a package user calls it: the official records, progress, cancellation.</summary>
public class SamAutomaticMaskGeneratorApiTests
{
    [SkippableFact]
    public async Task GenerateAsyncGivesAmgPysRecordsAndReportsPrompts()
    {
        var fixtures = FixtureFolder.Open(Path.GetDirectoryName(Fixtures.Require("sam-mini/meta.json"))!);
        using var model = SamModel.Load(Fixtures.Require("sam-mini/sam_mini.pth"), "cpu");
        var options = AmgVerification.Options(fixtures, "shapes", AmgOutputMode.CocoRle);
        using var generator = new SamAutomaticMaskGenerator(model, options);

        var reports = new List<SamProgress>();
        var result = await generator.GenerateAsync(RgbImage.Load(Fixtures.Require("sam-mini/shapes.png")), new Recorder(reports.Add));
        foreach (var check in AmgVerification.Compare(result, fixtures, "shapes"))
            Assert.True(check.Pass, $"{check.Stage}: {check.Detail}");

        int prompts = result.Timings.Prompts;
        Assert.True(result.Timings.Crops > 1 && prompts > 0);
        Assert.Equal(new SamProgress("amg", prompts, prompts), reports[^1]);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.First.Done < p.Second.Done));

        // amg.py's JSON, and the same records as standard JSON.
        var json = result.ToJson();
        Assert.StartsWith("[{\"segmentation\": {\"size\": [600, 900], \"counts\": \"", json);
        Assert.Equal(result.Masks.Count, System.Text.Json.JsonDocument.Parse(result.ToJson(strict: true)).RootElement.GetArrayLength());
        Assert.All(result.Masks, m => Assert.Equal(m.Rle.Counts, CocoRle.Decode(m.CocoCounts!)));
    }

    [SkippableFact]
    public async Task ACancelledGenerationStopsBetweenBatches()
    {
        using var model = SamModel.Load(Fixtures.Require("sam-mini/sam_mini.pth"), "cpu");
        using var generator = new SamAutomaticMaskGenerator(model, new AmgOptions { PointsPerSide = 16, PointsPerBatch = 32 });
        using var cancel = new CancellationTokenSource();
        var seen = new List<SamProgress>();
        var task = generator.GenerateAsync(RgbImage.Load(Fixtures.Require("sam-mini/shapes.png")), new Recorder(p =>
        {
            seen.Add(p);
            cancel.Cancel();
        }), cancel.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.Equal([new SamProgress("amg", 32, 256)], seen);
    }

    [Fact]
    public void OptionsOutOfRangeAreRefusedAtConstruction()
    {
        var e = Assert.Throws<SamException>(() => new SamAutomaticMaskGenerator((SamPredictor)null!, new AmgOptions { PointsPerSide = 2000 }));
        Assert.Contains("must be in [1, 512]", e.Message);
    }
}
