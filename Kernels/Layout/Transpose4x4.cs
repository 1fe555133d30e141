using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Kernels;

/// <summary>
/// A 4×4 block transpose for the native packing loops (GEMM panels, attention's Kᵀ): four
/// vector loads, eight shuffles and four vector stores where a scalar loop does sixteen of each.
/// Callers check <see cref="IsSupported"/> and keep a scalar loop for the rest.
/// </summary>
static unsafe class Transpose4x4
{
    public static bool IsSupported => Sse.IsSupported;

    /// <summary>dst[c·ldDst + r] = src[r·ldSrc + c] for r, c &lt; 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(float* src, long ldSrc, float* dst, long ldDst)
    {
        var r0 = Sse.LoadVector128(src);
        var r1 = Sse.LoadVector128(src + ldSrc);
        var r2 = Sse.LoadVector128(src + 2 * ldSrc);
        var r3 = Sse.LoadVector128(src + 3 * ldSrc);
        var t0 = Sse.UnpackLow(r0, r1);
        var t1 = Sse.UnpackLow(r2, r3);
        var t2 = Sse.UnpackHigh(r0, r1);
        var t3 = Sse.UnpackHigh(r2, r3);
        Sse.Store(dst, Sse.MoveLowToHigh(t0, t1));
        Sse.Store(dst + ldDst, Sse.MoveHighToLow(t1, t0));
        Sse.Store(dst + 2 * ldDst, Sse.MoveLowToHigh(t2, t3));
        Sse.Store(dst + 3 * ldDst, Sse.MoveHighToLow(t3, t2));
    }

    /// <summary>
    /// dst[c·ldDst + r] = src[r·ldSrc + c] for r &lt; 2, c &lt; 4: the two rows left over when a panel's
    /// height (the AVX2 GEMM's 6) is not a multiple of four, as pairs stored 8 bytes at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunPair(float* src, long ldSrc, float* dst, long ldDst)
    {
        var r0 = Sse.LoadVector128(src);
        var r1 = Sse.LoadVector128(src + ldSrc);
        var lo = Sse.UnpackLow(r0, r1);
        var hi = Sse.UnpackHigh(r0, r1);
        Sse.StoreLow(dst, lo);
        Sse.StoreHigh(dst + ldDst, lo);
        Sse.StoreLow(dst + 2 * ldDst, hi);
        Sse.StoreHigh(dst + 3 * ldDst, hi);
    }
}
