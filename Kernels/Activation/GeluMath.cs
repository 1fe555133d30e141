using ILGPU.Algorithms;

namespace SamEngine.Kernels;

/// <summary>
/// Exact (erf) GELU for use inside kernels and native code alike: plain float math that ILGPU
/// compiles for every backend (XMath has no Erf).
/// </summary>
public static class GeluMath
{
    const float InvSqrt2 = 0.70710678118654752f;

    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    /// <summary>Placeholder (Abramowitz–Stegun 7.1.26, |err| ≤ 1.5e-7) until the accurate version lands.</summary>
    public static float Erf(float x)
    {
        float s = x < 0 ? -1f : 1f;
        float a = XMath.Abs(x);
        float t = 1f / (1f + 0.3275911f * a);
        float y = 1f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t * XMath.Exp(-a * a);
        return s * y;
    }
}
