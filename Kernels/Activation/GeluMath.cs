using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ILGPU.Algorithms;

namespace SamEngine.Kernels;

/// <summary>
/// Exact (erf) GELU for use inside kernels and native code alike: plain float math that ILGPU
/// compiles for every backend (XMath has no Erf).
///
/// erf is split at |x| = 1:
///   |x| &lt; 1:  erf(x) = x + x·Q(x²), Q a degree-6 fit of erf(x)/x − 1 (adding the small x·Q
///             last keeps the rounding of the leading term exact);
///   |x| ≥ 1:  erf(x) = 1 − erfc(x), erfc(x) = exp(−x²)·G(x − 2.5), G a degree-10 fit of the
///             scaled erfc(x)·exp(x²), which is smooth where erfc itself falls off a cliff;
///   |x| ≥ 3.93: erfc(x) &lt; 2⁻²⁵, so erf rounds to ±1 in float.
/// Q and G were fitted for this file (near-minimax by iteratively reweighted least squares,
/// coefficients rounded to float one at a time with the rest refitted). Measured against
/// float64 erf on every float in [0, 6]: ≤ 1.32 ulp (worst just below 1), given a correctly
/// rounded exp. On PTX, XMath.Exp is ex2.approx of x·log₂e, whose few-ulp error reaches erf only
/// through erfc/erf ≤ 0.19.
///
/// GELU takes the erfc branch directly below z = x/√2 = −1, where 1 + erf(z) would cancel: there
/// it is accurate relative to its own (small) value, ≤ 1e-6, unlike the textbook formula.
/// </summary>
internal static class GeluMath
{
    const float InvSqrt2 = 0.70710678118654752f;
    const float Split = 1f;
    const float Saturate = 3.93f;
    const float Center = 2.5f;

    // Q(u) ≈ erf(√u)/√u − 1 on u ∈ [0, 1].
    const float Q0 = 0.12837917f, Q1 = -0.37612626f, Q2 = 0.11283579f, Q3 = -0.026853347f,
        Q4 = 0.005187162f, Q5 = -0.0007997853f, Q6 = 7.806903E-05f;

    // G(t) ≈ erfc(t + 2.5)·exp((t + 2.5)²) on t ∈ [−1.5, 1.43].
    const float G0 = 0.21080634f, G1 = -0.07434759f, G2 = 0.024938602f, G3 = -0.007999413f,
        G4 = 0.0024642851f, G5 = -0.00073875167f, G6 = 0.00021540288f, G7 = -5.3836495E-05f,
        G8 = 1.2965003E-05f, G9 = -6.3130983E-06f, G10 = 1.9461597E-06f;

    /// <summary>x·½(1 + erf(x/√2)); below x = −√2 it takes erfc directly, where 1 + erf would cancel.</summary>
    public static float Gelu(float x)
    {
        float z = x * InvSqrt2;
        float a = XMath.Abs(z);
        if (!(a >= Split)) return 0.5f * x * (1f + (z + z * Q(z * z))); // NaN lands here and stays NaN
        // erfc(|z|) with exp(−x²/2) rather than exp(−z²): squaring z would double its rounding error.
        float tail = a < Saturate ? XMath.Exp(-0.5f * (x * x)) * G(a - Center) : 0f;
        return z > 0 ? x * (1f - 0.5f * tail) : x * (0.5f * tail);
    }

    public static float Erf(float x)
    {
        float a = XMath.Abs(x);
        if (!(a >= Split)) return x + x * Q(x * x);
        float r = 1f - ErfcTail(a);
        return x < 0 ? -r : r;
    }

    static float Q(float u) => Q0 + u * (Q1 + u * (Q2 + u * (Q3 + u * (Q4 + u * (Q5 + u * Q6)))));

    static float G(float t) =>
        G0 + t * (G1 + t * (G2 + t * (G3 + t * (G4 + t * (G5 + t * (G6 + t * (G7 + t * (G8 + t * (G9 + t * G10)))))))));

    /// <summary>erfc(a) for a ≥ 1, flushed to 0 where erf saturates.</summary>
    static float ErfcTail(float a) => a < Saturate ? XMath.Exp(-a * a) * G(a - Center) : 0f;

    // The same math eight and sixteen lanes wide for the native path (GEMM epilogue, Gelu.Forward):
    // both branches are computed and each lane picks its own, unless no lane needs the tail (|z| < 1,
    // most of a LayerNorm's output): its exponential and polynomial are then skipped. Inlined: a Vector512 passed to and
    // from a call measured ~10× slower than the whole computation inlined. With h = x/2 (exact)
    // ½x(1 + erf z) becomes h + h·erf z in fused multiply-adds: one rounding where the scalar form
    // has two, and fewer instructions (with the written-out Horner steps below: 1.14 → 0.8 ns per
    // float, AVX-512, Zen 4). x(1 − ½·tail) keeps its form so that GELU(+∞) stays +∞ (x − h·tail
    // would be ∞ − ∞·0).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x)
    {
        var z = x * InvSqrt2;
        var h = 0.5f * x;
        var a = Vector256.Abs(z);
        var small = Vector256.FusedMultiplyAdd(h, Vector256.FusedMultiplyAdd(z, Q(z * z), z), h);
        if (!Vector256.GreaterThanOrEqualAny(a, Vector256.Create(Split))) return small;
        var g = G(Vector256.Min(a, Vector256.Create(Saturate)) - Vector256.Create(Center));
        // h·x = ½(x·x) exactly: exp(−x²/2) as the scalar form has it.
        var tail = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(Saturate)), VectorExp.Exp(-(h * x)) * g, Vector256<float>.Zero);
        var large = Vector256.ConditionalSelect(Vector256.GreaterThan(z, Vector256<float>.Zero), x * Vector256.FusedMultiplyAdd(Vector256.Create(-0.5f), tail, Vector256<float>.One), h * tail);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256.Create(Split)), large, small);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Gelu(Vector512<float> x)
    {
        var z = x * InvSqrt2;
        var h = 0.5f * x;
        var a = Vector512.Abs(z);
        var small = Vector512.FusedMultiplyAdd(h, Vector512.FusedMultiplyAdd(z, Q(z * z), z), h);
        if (!Vector512.GreaterThanOrEqualAny(a, Vector512.Create(Split))) return small;
        var g = G(Vector512.Min(a, Vector512.Create(Saturate)) - Vector512.Create(Center));
        // h·x = ½(x·x) exactly: exp(−x²/2) as the scalar form has it.
        // Where it is kept (a < Saturate), −x²/2 > −15.5: exp's clamps and special cases are not needed.
        var tail = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(Saturate)), VectorExp.ExpNormal(-(h * x)) * g, Vector512<float>.Zero);
        var large = Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512<float>.Zero), x * Vector512.FusedMultiplyAdd(Vector512.Create(-0.5f), tail, Vector512<float>.One), h * tail);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512.Create(Split)), large, small);
    }

    // Q and G in Horner's order with fused multiply-adds (the scalar forms, which ILGPU compiles,
    // round the product too), written out: a loop over the coefficients stayed a loop in the JIT
    // output. The GEMM's GELU epilogue is a long dependent chain per vector; this halves it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Q(Vector256<float> u)
    {
        var p = Vector256.Create(Q6);
        p = Vector256.FusedMultiplyAdd(p, u, Vector256.Create(Q5));
        p = Vector256.FusedMultiplyAdd(p, u, Vector256.Create(Q4));
        p = Vector256.FusedMultiplyAdd(p, u, Vector256.Create(Q3));
        p = Vector256.FusedMultiplyAdd(p, u, Vector256.Create(Q2));
        p = Vector256.FusedMultiplyAdd(p, u, Vector256.Create(Q1));
        p = Vector256.FusedMultiplyAdd(p, u, Vector256.Create(Q0));
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Q(Vector512<float> u)
    {
        var p = Vector512.Create(Q6);
        p = Vector512.FusedMultiplyAdd(p, u, Vector512.Create(Q5));
        p = Vector512.FusedMultiplyAdd(p, u, Vector512.Create(Q4));
        p = Vector512.FusedMultiplyAdd(p, u, Vector512.Create(Q3));
        p = Vector512.FusedMultiplyAdd(p, u, Vector512.Create(Q2));
        p = Vector512.FusedMultiplyAdd(p, u, Vector512.Create(Q1));
        p = Vector512.FusedMultiplyAdd(p, u, Vector512.Create(Q0));
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> G(Vector256<float> t)
    {
        var p = Vector256.Create(G10);
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G9));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G8));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G7));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G6));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G5));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G4));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G3));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G2));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G1));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(G0));
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> G(Vector512<float> t)
    {
        var p = Vector512.Create(G10);
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G9));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G8));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G7));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G6));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G5));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G4));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G3));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G2));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G1));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(G0));
        return p;
    }
}
