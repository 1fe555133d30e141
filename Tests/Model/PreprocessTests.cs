using System.Text.Json;
using SamEngine.Model;
using Xunit.Abstractions;

namespace SamEngine.Tests.Model;

public class PreprocessTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void MatchesPreprocessedFixture()
    {
        var resized = RgbImage.FromNpy(Npy.Read(Fixtures.Require("sam-mini/shapes/resized.npy")));
        var expected = Npy.Read(Fixtures.Require("sam-mini/shapes/preprocessed.npy"));
        using var errors = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/errors.json")));
        double bound = errors.RootElement.GetProperty("shapes").GetProperty("preprocessed").GetProperty("max_abs").GetDouble();

        var x = Preprocess.Normalize(resized);

        Assert.Equal(new[] { 1, 3, 1024, 1024 }, expected.Shape);
        var want = expected.ToFloat();
        double maxAbs = 0;
        int differing = 0;
        for (int i = 0; i < want.Length; i++)
        {
            double d = Math.Abs((double)x[i] - want[i]);
            if (d > 0) differing++;
            maxAbs = Math.Max(maxAbs, d);
        }
        output.WriteLine($"preprocessed: max abs err {maxAbs:G3} ({differing} of {want.Length} differ), PyTorch fp32 max abs {bound:G3}");
        Assert.True(maxAbs <= 2 * bound, $"max abs err {maxAbs} > 2 × {bound}");
        // With the reference's float32 constants, double arithmetic reproduces its float64 values exactly.
        Assert.Equal(0, differing);
    }

    /// <summary>File to encoder input for the PNG fixture, whose decoding is exact: the whole path is bit-exact.</summary>
    [SkippableFact]
    public void PngFileToEncoderInputIsExact()
    {
        var expected = Npy.Read(Fixtures.Require("sam-mini/shapes/preprocessed.npy")).ToFloat();
        using var meta = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/meta.json")));
        var inputSize = meta.RootElement.GetProperty("shapes").GetProperty("input_size");

        var (x, size) = Preprocess.Apply(ImageLoader.Load(Fixtures.Require("sam-mini/shapes.png")));

        Assert.Equal((inputSize[0].GetInt32(), inputSize[1].GetInt32()), size);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void PadsBottomAndRightWithZeros()
    {
        var image = new RgbImage(2, 3, Enumerable.Range(0, 18).Select(i => (byte)(i * 10)).ToArray());
        var x = Preprocess.Normalize(image, size: 4);
        Assert.Equal(3 * 16, x.Length);
        // channel 1 of pixel (y=1, x=2) is byte 16 → 160
        Assert.Equal((float)((160 - (double)116.28f) / 57.12f), x[(1 * 4 + 1) * 4 + 2]);
        for (int c = 0; c < 3; c++)
        {
            for (int col = 0; col < 4; col++) Assert.Equal(0f, x[(c * 4 + 3) * 4 + col]);
            for (int row = 0; row < 4; row++) Assert.Equal(0f, x[(c * 4 + row) * 4 + 3]);
        }
    }
}
