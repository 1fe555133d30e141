using SamEngine.Model;
using Xunit.Abstractions;

namespace SamEngine.Tests.Model;

public class PillowResizeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Images => ["shapes", "truck", "groceries"];

    /// <summary>From the fixture's decoded pixels, so that only the resize is under test.</summary>
    [SkippableTheory]
    [MemberData(nameof(Images))]
    public void ResizeLongestSideMatchesPillowByteForByte(string image)
    {
        var rgb = RgbImage.FromNpy(Npy.Read(Fixtures.Require($"sam-mini/{image}/image_rgb.npy")));
        var expected = Npy.Read(Fixtures.Require($"sam-mini/{image}/resized.npy"));

        var resized = new ResizeLongestSide(1024).ApplyImage(rgb);

        Assert.Equal(expected.Shape, new[] { resized.Height, resized.Width, 3 });
        var want = expected.ToBytes();
        int mismatches = 0, first = -1;
        for (int i = 0; i < want.Length; i++)
            if (want[i] != resized.Pixels[i]) { mismatches++; if (first < 0) first = i; }
        output.WriteLine($"{image}: {rgb.Height}×{rgb.Width} → {resized.Height}×{resized.Width}, {mismatches} differing bytes");
        Assert.True(mismatches == 0, $"{mismatches} bytes differ, first at {first} (want {(first < 0 ? 0 : want[first])}, got {(first < 0 ? 0 : resized.Pixels[first])})");
    }

    /// <summary>A constant image stays constant: the fixed-point weights of each output sum to one within rounding.</summary>
    [Theory]
    [InlineData(7, 13, 5, 29)]
    [InlineData(33, 1, 65, 1)]
    [InlineData(130, 65, 1, 7)]
    public void ConstantImageStaysConstant(int h, int w, int newH, int newW)
    {
        var src = Enumerable.Repeat((byte)201, h * w * 3).ToArray();
        var dst = PillowResize.Bilinear(src, h, w, 3, newH, newW);
        Assert.All(dst, v => Assert.Equal(201, v));
    }

    /// <summary>
    /// Hand-computed Pillow values. Upscaling 2→4 along x: the centres fall at 0.25 and 0.75 of a
    /// source pixel, so the taps are (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1) of 0 and 100.
    /// Downscaling 4→2 averages pairs plus half-weight neighbours: the triangle is 2 pixels wide.
    /// </summary>
    [Fact]
    public void MatchesHandComputedSamples()
    {
        Assert.Equal(new byte[] { 0, 25, 75, 100 }, PillowResize.Bilinear([0, 100], 1, 2, 1, 1, 4));
        // 4→2: centre 1.0 takes x = 0, 1, 2 (pixel centres 0.5, 1.5, 2.5) at weights 0.75, 0.75, 0.25, renormalised
        // because the window is cut at the edge: (0.75·0 + 0.75·40 + 0.25·80) / 1.75 = 28.57 → 29;
        // centre 3.0 takes x = 1, 2, 3: (0.25·40 + 0.75·80 + 0.75·120) / 1.75 = 91.43 → 91.
        Assert.Equal(new byte[] { 29, 91 }, PillowResize.Bilinear([0, 40, 80, 120], 1, 4, 1, 1, 2));
    }

    [Fact]
    public void OnlyTheChangedAxisIsFiltered()
    {
        var rnd = new Random(7);
        var src = new byte[5 * 9 * 3];
        rnd.NextBytes(src);
        // Same width: each column is resized alone, so the result equals a 1-wide resize per column.
        var tall = PillowResize.Bilinear(src, 5, 9, 3, 11, 9);
        for (int x = 0; x < 9; x++)
        {
            var column = new byte[5 * 3];
            for (int y = 0; y < 5; y++) for (int c = 0; c < 3; c++) column[y * 3 + c] = src[(y * 9 + x) * 3 + c];
            var one = PillowResize.Bilinear(column, 5, 1, 3, 11, 1);
            for (int y = 0; y < 11; y++) for (int c = 0; c < 3; c++) Assert.Equal(one[y * 3 + c], tall[(y * 9 + x) * 3 + c]);
        }
        Assert.Equal(src, PillowResize.Bilinear(src, 5, 9, 3, 5, 9));
    }
}
