using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>The vectorised mask steps of AMG against plain per-pixel loops, on sizes that leave vector tails.</summary>
public class AmgVectorTests
{
    static float[] Logits(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.Next(8) switch { 0 => 0f, 1 => 1f, 2 => -1f, 3 => float.NaN, _ => (float)(rng.NextDouble() * 6 - 3) };
        return v;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 33)]
    [InlineData(65, 130)]
    [InlineData(3, 1031)]
    public void ThresholdAndStabilityMatchPixelLoops(int h, int w)
    {
        var logits = Logits(h * w, h * 1000 + w);
        var mask = new bool[h * w];
        LogitMask.Threshold(logits, 0f, mask);
        Assert.Equal(logits.Select(v => v > 0f), mask);

        int high = logits.Count(v => v > 1f), low = logits.Count(v => v > -1f);
        Assert.Equal((float)high / low, StabilityScore.Compute(logits, h, w, 0.0, 1.0));
    }

    [Theory]
    [InlineData(1, 1, 0, 0, 1, 1)]
    [InlineData(7, 33, 2, 5, 40, 20)]
    [InlineData(130, 65, 64, 0, 130, 130)]
    [InlineData(50, 200, 0, 10, 200, 60)]
    [InlineData(20, 30, 10, 0, 40, 20)]
    [InlineData(5, 9, 0, 0, 9, 5)]
    public void RleOfACropMatchesThePaddedMaskDecoded(int h, int w, int x0, int y0, int imageWidth, int imageHeight)
    {
        var rng = new Random(h + w);
        var mask = new bool[h * w];
        // Blobs and noise, so runs cross strip and column boundaries.
        for (int i = 0; i < mask.Length; i++) mask[i] = (i / 5 % 3 == 0) ^ (rng.Next(10) == 0);
        var rle = Rle.EncodeUncropped(mask, new BoxXyxy(x0, y0, x0 + w, y0 + h), imageHeight, imageWidth);
        var padded = new bool[imageHeight * imageWidth];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) padded[(y0 + y) * imageWidth + x0 + x] = mask[y * w + x];
        Assert.Equal(padded, rle.Decode());
        Assert.Equal(padded.Count(b => b), rle.Area);
        // Runs alternate strictly: no zero-length run except a leading one.
        Assert.DoesNotContain(0, rle.Counts.Skip(1));
    }
}
