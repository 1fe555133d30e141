using SamEngine.Engine;
using SamEngine.Model;
using Xunit.Abstractions;

namespace SamEngine.Tests.Model;

/// <summary>
/// The sam-mini fixture through our preprocessing and encoder: every stage within 2× PyTorch
/// float32's error against the float64 reference (the resize exact). ilgpu-cpu emulates the GPU
/// kernels slowly, so it runs the first image only (the one with per-block activations); opencl
/// (PoCL in CI, concurrent work-groups) runs every image, about 13 s each on 2 cores.
/// </summary>
public class EncoderFixtureTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData("cpu", null)]
    [InlineData("ilgpu-cpu", "shapes")]
    [InlineData("opencl", null)]
    public void EveryStageWithinTwicePyTorchError(string deviceName, string? onlyImage)
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var fixtures = Path.GetDirectoryName(model)!;
        using var encoder = SamImageEncoder.Load(model, TestDevices.Open(deviceName));
        var checks = EncoderVerification.Run(encoder, fixtures, onlyImage == null ? null : [onlyImage],
            (image, time) => output.WriteLine($"{image}: encoder {time.TotalSeconds:F1} s on {deviceName}")).ToList();
        foreach (var c in checks)
            output.WriteLine($"{c.Image} {c.Stage}: max abs {c.MaxAbs:E2}, rel-L2 {c.RelL2:E2}, PyTorch {c.TorchRelL2:E2}, ratio {c.Ratio:F2}");

        var stages = checks.Where(c => c.Image == "shapes").Select(c => c.Stage).ToList();
        Assert.Equal(["resize", "preprocessed", "patch_embed", "block00", "block01", "block02", "block03", "image_embedding"], stages);
        if (onlyImage == null) Assert.Equal(3, checks.Count(c => c.Stage == "image_embedding"));
        Assert.All(checks, c => Assert.True(c.Pass,
            $"{c.Image} {c.Stage}: rel-L2 {c.RelL2:E2} vs PyTorch float32 {c.TorchRelL2:E2} (max abs {c.MaxAbs:E2})"));
    }

    /// <summary>The photos from their JPEG files: the decoding exact, then every stage within bound (as `sam verify --image`).</summary>
    [SkippableTheory]
    [InlineData("truck.jpg")]
    [InlineData("groceries.jpg")]
    public void FromTheJpegFileEveryStageWithinBound(string file)
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var fixtures = Path.GetDirectoryName(model)!;
        using var encoder = SamImageEncoder.Load(model, Devices.Open("cpu"));
        var checks = EncoderVerification.RunFromFile(encoder, fixtures, Path.Combine(fixtures, file)).ToList();
        foreach (var c in checks)
            output.WriteLine($"{c.Image} {c.Stage}: max abs {c.MaxAbs:E2}, rel-L2 {c.RelL2:E2}, PyTorch {c.TorchRelL2:E2}, ratio {c.Ratio:F2} {c.Detail}");
        Assert.Equal(["decode", "resize", "image_embedding"], checks.Select(c => c.Stage));
        Assert.All(checks, c => Assert.True(c.Pass, $"{c.Image} {c.Stage}: {c.Detail ?? $"rel-L2 {c.RelL2:E2} vs PyTorch float32 {c.TorchRelL2:E2}"}"));
    }
}
