using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SamEngine.Kernels;

namespace SamEngine.Tests.Kernels;

public class VectorExpTests
{
    static double UlpError(float actual, double exact)
    {
        float f = MathF.Abs((float)exact);
        return Math.Abs(actual - exact) / ((double)MathF.BitIncrement(f) - f);
    }

    // Each width on its own: the 512-lane exp needs AVX-512 (scalef), which CI's machine may lack.
    [Fact]
    public void Vector256WithinOneUlpOverTheNormalRange() => CheckUlp(x => VectorExp.Exp(Vector256.Create(x)).GetElement(2));

    [SkippableFact]
    public void Vector512WithinOneUlpOverTheNormalRange()
    {
        Skip.IfNot(Avx512F.IsSupported, "this machine has no AVX-512: the 512-lane exp never runs here");
        CheckUlp(x => VectorExp.Exp(Vector512.Create(x)).GetElement(5));
    }

    static void CheckUlp(Func<float, float> exp)
    {
        double worst = 0;
        float worstAt = 0;
        for (int i = 0; i <= 400_000; i++)
        {
            float x = -87.3f + (88.7f + 87.3f) * i / 400_000;
            double e = UlpError(exp(x), Math.Exp(x));
            if (e > worst) (worst, worstAt) = (e, x);
        }
        Assert.True(worst <= 1, $"exp off by {worst:F2} ulp at {worstAt:R}");
    }

    [Fact]
    public void EdgesAndSpans()
    {
        var x = new[] { 0f, -0f, -88f, -1000f, float.NegativeInfinity, 88.75f, float.PositiveInfinity, float.NaN, 1f, -1f, 88.7f, 3f, -50f, 0.5f, 2f, -3f, 7f };
        var y = new float[x.Length];
        VectorExp.Exp(x, y);
        Assert.Equal(1f, y[0]);
        Assert.Equal(1f, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(0f, y[3]);
        Assert.Equal(0f, y[4]);
        Assert.Equal(float.PositiveInfinity, y[5]);
        Assert.Equal(float.PositiveInfinity, y[6]);
        Assert.True(float.IsNaN(y[7]));
        for (int i = 8; i < x.Length; i++) Assert.True(UlpError(y[i], Math.Exp(x[i])) <= 1, $"exp({x[i]}) = {y[i]}");
    }
}
