using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Kernels;

/// <summary>
/// An 8×8 block transpose in AVX registers: pairs of rows interleaved (unpack), pairs of pairs
/// (shuffle), then the 128-bit halves exchanged; 24 shuffles for eight loads and eight stores.
/// </summary>
static unsafe class Transpose8x8
{
    public static bool IsSupported => Avx.IsSupported;

    /// <summary>dst[c·ldDst + r] = row r's lane c, for the eight rows given.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, long ldDst)
    {
        // t: rows 2i, 2i+1 interleaved, [a0 b0 a1 b1 | a4 b4 a5 b5] and [a2 b2 a3 b3 | a6 b6 a7 b7].
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // u: columns c and c + 4 of four rows, [r0..r3 of c | r0..r3 of c + 4].
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + ldDst);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * ldDst);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * ldDst);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * ldDst);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * ldDst);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * ldDst);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * ldDst);
    }
}
