using StbImageSharp;

namespace SamEngine.Tests.Model;

/// <summary>`sam demo` end to end on the fixture model and the drawn scene.</summary>
[Collection("console")]
public sealed class DemoCommandTests : IDisposable
{
    readonly string work = Path.Combine(Path.GetTempPath(), "sam-demo-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
    }

    [SkippableFact]
    public void DrawsTheSceneEncodesAndWritesOverlays()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var (code, output, error) = SamCli.Run("demo", "--model", model, "--out-dir", work, "--device", "cpu");
        Assert.True(code == 0, error);

        var image = Load("image.png");
        var point = Load("point.png");
        var box = Load("box.png");
        Assert.Equal((SamEngine.Model.DemoScene.Width, SamEngine.Model.DemoScene.Height), (image.Width, image.Height));
        // The overlays are the scene with masks and prompts painted on: same size, visibly different.
        Assert.Equal(image.Data.Length, point.Data.Length);
        Assert.True(image.Data.Zip(point.Data).Count(p => p.First != p.Second) > 100);
        Assert.True(image.Data.Zip(box.Data).Count(p => p.First != p.Second) > 100);
        Assert.Contains("encode image", output);
        Assert.Contains("attention", output); // the per-kernel profile is printed
    }

    /// <summary>MobileSAM's official size from random weights: no fixtures needed, as on a fresh clone.</summary>
    [Fact]
    public void RunsMobileSamsOfficialSize()
    {
        var (code, output, error) = SamCli.Run("demo", "--arch", "mobile_sam", "--out-dir", work, "--device", "cpu");
        Assert.True(code == 0, error);
        Assert.Contains("random mobile_sam", output);
        Assert.Contains("encoder/layer3", output);        // the TinyViT stages in the profile
        Assert.Contains("depthwise_conv2d", output);
        Assert.Equal(SamEngine.Model.DemoScene.Width, Load("point.png").Width);
    }

    ImageResult Load(string name)
    {
        using var stream = File.OpenRead(Path.Combine(work, name));
        return ImageResult.FromStream(stream, ColorComponents.RedGreenBlue);
    }
}
