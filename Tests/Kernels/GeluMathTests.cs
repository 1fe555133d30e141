using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MathNet.Numerics;
using SamEngine.Kernels;

namespace SamEngine.Tests.Kernels;

/// <summary>The float erf and GELU against float64, in units in the last place of the float result.</summary>
public class GeluMathTests
{
    // Spacing of floats at the float nearest to the exact value.
    static double Ulp(double exact)
    {
        float f = MathF.Abs((float)exact);
        return (double)MathF.BitIncrement(f) - f;
    }

    static double UlpError(float actual, double exact) => Math.Abs(actual - exact) / Ulp(exact);

    static IEnumerable<float> DenseSweep()
    {
        const int n = 1_000_000;
        for (int i = 0; i <= n; i++) yield return -10f + 20f * i / n;
    }

    static readonly float[] Tiny = [float.Epsilon, 3e-39f, 1.2e-38f, 1e-30f, 1e-10f, 1e-5f];

    [Fact]
    public void ErfIsWithinOneAndAHalfUlpOnADenseSweep()
    {
        double worst = 0;
        float worstAt = 0;
        foreach (var x in DenseSweep().Concat(Tiny).Concat(Tiny.Select(t => -t)))
        {
            double e = UlpError(GeluMath.Erf(x), SpecialFunctions.Erf(x));
            if (e > worst) (worst, worstAt) = (e, x);
        }
        Assert.True(worst <= 1.5, $"erf off by {worst:F2} ulp at {worstAt:R}");
    }

    [Fact]
    public void ErfSpecialValues()
    {
        Assert.Equal(0f, GeluMath.Erf(0f));
        Assert.True(float.IsPositive(GeluMath.Erf(0f)));
        Assert.True(float.IsNegative(GeluMath.Erf(-0f)) && GeluMath.Erf(-0f) == 0f);
        Assert.Equal(1f, GeluMath.Erf(float.PositiveInfinity));
        Assert.Equal(-1f, GeluMath.Erf(float.NegativeInfinity));
        Assert.Equal(1f, GeluMath.Erf(3.93f));
        Assert.Equal(-1f, GeluMath.Erf(-1e30f));
        Assert.True(float.IsNaN(GeluMath.Erf(float.NaN)));
        Assert.Equal(0.8427007929497149, GeluMath.Erf(1f), 7);
    }

    // Where GELU is ½x(1 + erf(z)), z = x/√2, it inherits ½|x| times erf's error plus the
    // roundings of 1 + erf and of the product. Below z = −1 it is ½x·erfc(−z) and the error is
    // relative (until erfc flushes to 0 at z = −3.93): exp(−x²/2) sees x² rounded, up to (x²/2)·2⁻²⁴ ≈ 4.6e-7
    // near saturation, G, exp and the products ~3e-7 more, and the runtime's vector exp (≤ 1.8
    // ulp, against ½ for MathF.Exp) ~1e-7 more again.
    static (double Ratio, float At, double TailRel) GeluErrors(Func<float, float> gelu)
    {
        double worstRatio = 0, worstRel = 0;
        float worstAt = 0;
        foreach (var x in DenseSweep().Concat(Tiny).Concat(Tiny.Select(t => -t)))
        {
            double z = x / Math.Sqrt(2);
            double exact = 0.5 * x * SpecialFunctions.Erfc(-z);
            double err = Math.Abs(gelu(x) - exact);
            if (z >= -1)
            {
                double erf = SpecialFunctions.Erf(z);
                double bound = 0.5 * Math.Abs(x) * (1.5 * Ulp(erf) + 0.5 * Ulp(1 + erf)) + Ulp(exact);
                if (err / bound > worstRatio) (worstRatio, worstAt) = (err / bound, x);
            }
            else if (z > -3.93) worstRel = Math.Max(worstRel, err / Math.Abs(exact));
            // Past saturation the result is flushed to −0, off by at most ½|x|·erfc(3.93).
            else worstRel = Math.Max(worstRel, err <= 1.4e-8 * Math.Abs(x) ? 0 : double.PositiveInfinity);
        }
        return (worstRatio, worstAt, worstRel);
    }

    [Fact]
    public void GeluMatchesTheExactDefinition()
    {
        var (ratio, at, tail) = GeluErrors(GeluMath.Gelu);
        Assert.True(ratio <= 1, $"gelu error {ratio:F2}× its bound at {at:R}");
        Assert.True(tail <= 1e-6, $"gelu tail off by {tail:E2} relative");
        Assert.Equal(0f, GeluMath.Gelu(-20f));
        Assert.Equal(float.PositiveInfinity, GeluMath.Gelu(float.PositiveInfinity));
        Assert.True(float.IsNaN(GeluMath.Gelu(float.NaN)));
    }

    // Each width on its own: the 512-lane GELU needs AVX-512 (scalef), which CI's machine may lack.
    [Fact]
    public void Vector256GeluMatchesTheExactDefinition() =>
        CheckVectorGelu("256", x => GeluMath.Gelu(Vector256.Create(x)).GetElement(3));

    [SkippableFact]
    public void Vector512GeluMatchesTheExactDefinition()
    {
        Skip.IfNot(Avx512F.IsSupported, "this machine has no AVX-512: the 512-lane GELU never runs here");
        CheckVectorGelu("512", x => GeluMath.Gelu(Vector512.Create(x)).GetElement(11));
    }

    static void CheckVectorGelu(string name, Func<float, float> gelu)
    {
        var (ratio, at, tail) = GeluErrors(gelu);
        Assert.True(ratio <= 1, $"vector{name} gelu error {ratio:F2}× its bound at {at:R}");
        Assert.True(tail <= 1.2e-6, $"vector{name} gelu tail off by {tail:E2} relative");
        Assert.True(float.IsNaN(gelu(float.NaN)));
        Assert.Equal(float.PositiveInfinity, gelu(float.PositiveInfinity));
        Assert.Equal(0f, gelu(-20f));
    }
}
