using SamEngine.Kernels;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// The row passes of bilinear resizing, bit for bit against w0·a + w1·b with each product and
/// the sum rounded to float32 on its own (computed in float64 and narrowed, where double
/// rounding is harmless and no fused multiply-add can slip in): the AVX-512 permute blocks, the
/// blocks whose taps spread too far for them (downscaling) and the tails all give those values.
/// </summary>
public class RowResamplerTests
{
    static float Blend(float w0, float a, float w1, float b) => (float)((double)(float)((double)w0 * a) + (float)((double)w1 * b));

    static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 40 - 20)).ToArray();
    }

    [Theory]
    [InlineData(256, 1024)]
    [InlineData(1024, 1800)]
    [InlineData(1024, 402)]    // taps of 16 outputs span more than 32 inputs: per-output blocks
    [InlineData(746, 552)]
    [InlineData(20, 37)]       // fewer inputs than one permute window
    [InlineData(64, 64)]
    public void AcrossIsTheTwoTapBlend(int inSize, int outSize)
    {
        var src = Values(inSize, inSize + outSize);
        var resampler = new RowResampler(inSize, outSize);
        foreach (int n in new[] { outSize, outSize - 7, outSize / 2 })
        {
            var dst = new float[n];
            resampler.Across(src, dst);
            for (int o = 0; o < n; o++)
            {
                var t = LinearTaps.Of(inSize, outSize, o);
                Assert.Equal(Blend(t.W0, src[t.I0], t.W1, src[t.I1]), dst[o]);
            }
        }
    }

    [Fact]
    public void DownIsTheTwoRowBlend()
    {
        var upper = Values(1031, 1);
        var lower = Values(1031, 2);
        var dst = new float[1031];
        RowResampler.Down(upper, 0.375f, lower, 0.625f, dst);
        Assert.Equal(Enumerable.Range(0, dst.Length).Select(i => Blend(0.375f, upper[i], 0.625f, lower[i])), dst);
    }
}
