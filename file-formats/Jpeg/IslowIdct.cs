using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.FileFormats;

/// <summary>
/// libjpeg's "islow" inverse DCT (the Loeffler–Ligtenberg–Moschytz factorisation with 13-bit
/// constants, two passes with 2 extra bits between them), exactly as libjpeg-turbo's x86 SIMD code
/// computes it, which is what cv2 runs: dequantised values and the even/odd input sums are 16-bit
/// (wrapping), products and sums 32-bit, the first pass's results saturate to 16 bits, the second
/// pass's to a signed byte which is then shifted by 128. For any real JPEG these equal the plain
/// integer arithmetic of jidctint.c; only hostile coefficients tell them apart.
/// </summary>
static partial class IslowIdct
{
    const int ConstBits = 13, Pass1Bits = 2;
    const int Pass1Shift = ConstBits - Pass1Bits, Pass2Shift = ConstBits + Pass1Bits + 3;

    // FIX(x) = round(x · 2^13)
    const int F0298 = 2446, F0390 = 3196, F0541 = 4433, F0765 = 6270, F0899 = 7373, F1175 = 9633;
    const int F1501 = 12299, F1847 = 15137, F1961 = 16069, F2053 = 16819, F2562 = 20995, F3072 = 25172;

    /// <summary>One block: <paramref name="coef"/> (natural order) times <paramref name="quant"/> to 8×8 samples at output[y·stride + x].</summary>
    public static void Transform(ReadOnlySpan<short> coef, ReadOnlySpan<ushort> quant, Span<byte> output, int stride)
    {
        if (Avx2.IsSupported) TransformAvx2(coef, quant, output, stride);
        else TransformScalar(coef, quant, output, stride);
    }

    internal static void TransformScalar(ReadOnlySpan<short> coef, ReadOnlySpan<ushort> quant, Span<byte> output, int stride)
    {
        Span<short> ws = stackalloc short[64];
        Span<int> o = stackalloc int[8];
        if (coef[8..].IndexOfAnyExcept((short)0) < 0)
        {
            // Only the first row of coefficients: each column is flat (the SIMD code's 16-bit shortcut).
            for (int c = 0; c < 8; c++)
            {
                short v = (short)((short)(coef[c] * quant[c]) << Pass1Bits);
                for (int r = 0; r < 8; r++) ws[r * 8 + c] = v;
            }
        }
        else
        {
            for (int c = 0; c < 8; c++)
            {
                Pass(Dq(coef, quant, c), Dq(coef, quant, 8 + c), Dq(coef, quant, 16 + c), Dq(coef, quant, 24 + c),
                     Dq(coef, quant, 32 + c), Dq(coef, quant, 40 + c), Dq(coef, quant, 48 + c), Dq(coef, quant, 56 + c), Pass1Shift, o);
                for (int r = 0; r < 8; r++) ws[r * 8 + c] = Saturate16(o[r]);
            }
        }
        for (int r = 0; r < 8; r++)
        {
            var w = ws.Slice(r * 8, 8);
            Pass(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], Pass2Shift, o);
            var row = output.Slice(r * stride, 8);
            for (int c = 0; c < 8; c++) row[c] = (byte)(Math.Clamp(o[c], -128, 127) + 128);
        }
    }

    static short Dq(ReadOnlySpan<short> coef, ReadOnlySpan<ushort> quant, int i) => (short)(coef[i] * quant[i]);

    static short Saturate16(int v) => (short)Math.Clamp(v, short.MinValue, short.MaxValue);

    /// <summary>One 8-point pass on 16-bit inputs: 32-bit results, rounded and shifted right by <paramref name="shift"/>.</summary>
    static void Pass(int i0, int i1, int i2, int i3, int i4, int i5, int i6, int i7, int shift, Span<int> o)
    {
        // Even part: rotation of (in2, in6), butterflies with (in0 ± in4).
        int tmp3 = i2 * (F0541 + F0765) + i6 * F0541;
        int tmp2 = i2 * F0541 + i6 * (F0541 - F1847);
        int tmp0 = (short)(i0 + i4) << ConstBits;
        int tmp1 = (short)(i0 - i4) << ConstBits;
        int tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

        // Odd part, with z5 = (z3 + z4)·c3 folded into the z3 and z4 terms.
        int z3 = (short)(i7 + i3), z4 = (short)(i5 + i1);
        int z3r = z3 * (F1175 - F1961) + z4 * F1175;
        int z4r = z3 * F1175 + z4 * (F1175 - F0390);
        int t0 = i7 * (F0298 - F0899) + i1 * -F0899 + z3r;
        int t1 = i5 * (F2053 - F2562) + i3 * -F2562 + z4r;
        int t2 = i5 * -F2562 + i3 * (F3072 - F2562) + z3r;
        int t3 = i7 * -F0899 + i1 * (F1501 - F0899) + z4r;

        int round = 1 << (shift - 1);
        o[0] = (tmp10 + t3 + round) >> shift;
        o[7] = (tmp10 - t3 + round) >> shift;
        o[1] = (tmp11 + t2 + round) >> shift;
        o[6] = (tmp11 - t2 + round) >> shift;
        o[2] = (tmp12 + t1 + round) >> shift;
        o[5] = (tmp12 - t1 + round) >> shift;
        o[3] = (tmp13 + t0 + round) >> shift;
        o[4] = (tmp13 - t0 + round) >> shift;
    }
}
