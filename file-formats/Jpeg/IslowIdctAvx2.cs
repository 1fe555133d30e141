using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.FileFormats;

/// <summary>
/// <see cref="IslowIdct"/> with eight columns (then eight rows) at once: each pass on eight
/// Vector256&lt;int&gt; lanes, the same 16-bit wrapping and saturation as the scalar code, and
/// 8×8 transposes between the passes and before the store.
/// </summary>
static partial class IslowIdct
{
    internal static void TransformAvx2(ReadOnlySpan<short> coef, ReadOnlySpan<ushort> quant, Span<byte> output, int stride)
    {
        if (coef.Length < 64 || quant.Length < 64 || output.Length < 7 * stride + 8) throw new ArgumentException("block out of range");
        ref short c = ref MemoryMarshal.GetReference(coef);
        ref short q = ref Unsafe.As<ushort, short>(ref MemoryMarshal.GetReference(quant));

        Vector128<short> w0, w1, w2, w3, w4, w5, w6, w7;
        var ac = Vector256.LoadUnsafe(ref c, 8) | Vector256.LoadUnsafe(ref c, 24) | Vector256.LoadUnsafe(ref c, 40);
        if ((ac | Vector128.LoadUnsafe(ref c, 56).ToVector256()).Equals(Vector256<short>.Zero))
        {
            w0 = w1 = w2 = w3 = w4 = w5 = w6 = w7 = Sse2.ShiftLeftLogical(Dequantize(ref c, ref q, 0), Pass1Bits);
        }
        else
        {
            Pass(Widen(Dequantize(ref c, ref q, 0)), Widen(Dequantize(ref c, ref q, 1)), Widen(Dequantize(ref c, ref q, 2)), Widen(Dequantize(ref c, ref q, 3)),
                 Widen(Dequantize(ref c, ref q, 4)), Widen(Dequantize(ref c, ref q, 5)), Widen(Dequantize(ref c, ref q, 6)), Widen(Dequantize(ref c, ref q, 7)),
                 Pass1Shift, out var o0, out var o1, out var o2, out var o3, out var o4, out var o5, out var o6, out var o7);
            (w0, w1, w2, w3, w4, w5, w6, w7) = (Narrow(o0), Narrow(o1), Narrow(o2), Narrow(o3), Narrow(o4), Narrow(o5), Narrow(o6), Narrow(o7));
        }

        // Rows of the work array to its columns: lane r of column k is row r's k-th value.
        Transpose(ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        Pass(Widen(w0), Widen(w1), Widen(w2), Widen(w3), Widen(w4), Widen(w5), Widen(w6), Widen(w7),
             Pass2Shift, out var p0, out var p1, out var p2, out var p3, out var p4, out var p5, out var p6, out var p7);

        // Samples: value + 128 saturated to a byte; two output columns per vector, then rows.
        var shuffle = Vector128.Create((byte)0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        var b01 = Ssse3.Shuffle(Sse2.PackUnsignedSaturate(Narrow(p0 + Center), Narrow(p1 + Center)), shuffle);
        var b23 = Ssse3.Shuffle(Sse2.PackUnsignedSaturate(Narrow(p2 + Center), Narrow(p3 + Center)), shuffle);
        var b45 = Ssse3.Shuffle(Sse2.PackUnsignedSaturate(Narrow(p4 + Center), Narrow(p5 + Center)), shuffle);
        var b67 = Ssse3.Shuffle(Sse2.PackUnsignedSaturate(Narrow(p6 + Center), Narrow(p7 + Center)), shuffle);
        var lo0123 = Sse2.UnpackLow(b01.AsInt16(), b23.AsInt16()).AsInt32();
        var hi0123 = Sse2.UnpackHigh(b01.AsInt16(), b23.AsInt16()).AsInt32();
        var lo4567 = Sse2.UnpackLow(b45.AsInt16(), b67.AsInt16()).AsInt32();
        var hi4567 = Sse2.UnpackHigh(b45.AsInt16(), b67.AsInt16()).AsInt32();
        ref byte o = ref MemoryMarshal.GetReference(output);
        StoreRows(ref o, stride, 0, Sse2.UnpackLow(lo0123, lo4567));
        StoreRows(ref o, stride, 2, Sse2.UnpackHigh(lo0123, lo4567));
        StoreRows(ref o, stride, 4, Sse2.UnpackLow(hi0123, hi4567));
        StoreRows(ref o, stride, 6, Sse2.UnpackHigh(hi0123, hi4567));
    }

    static readonly Vector256<int> Center = Vector256.Create(128);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<short> Dequantize(ref short c, ref short q, int row) =>
        Sse2.MultiplyLow(Vector128.LoadUnsafe(ref c, (nuint)(8 * row)), Vector128.LoadUnsafe(ref q, (nuint)(8 * row)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Widen(Vector128<short> v) => Avx2.ConvertToVector256Int32(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<short> Narrow(Vector256<int> v) => Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());

    /// <summary>Bits 0–15 of each lane, sign-extended, times 2^shift: the SIMD code's 16-bit sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Low16(Vector256<int> v, int shift) => Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(v, 16), 16 - shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRows(ref byte o, int stride, int row, Vector128<int> twoRows)
    {
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref o, row * stride), twoRows.AsInt64().GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref o, (row + 1) * stride), twoRows.AsInt64().GetElement(1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Pass(Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3, Vector256<int> i4, Vector256<int> i5,
        Vector256<int> i6, Vector256<int> i7, int shift, out Vector256<int> o0, out Vector256<int> o1, out Vector256<int> o2,
        out Vector256<int> o3, out Vector256<int> o4, out Vector256<int> o5, out Vector256<int> o6, out Vector256<int> o7)
    {
        var tmp3 = i2 * (F0541 + F0765) + i6 * F0541;
        var tmp2 = i2 * F0541 + i6 * (F0541 - F1847);
        var tmp0 = Low16(i0 + i4, ConstBits);
        var tmp1 = Low16(i0 - i4, ConstBits);
        var (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);

        var z3 = Low16(i7 + i3, 0);
        var z4 = Low16(i5 + i1, 0);
        var z3r = z3 * (F1175 - F1961) + z4 * F1175;
        var z4r = z3 * F1175 + z4 * (F1175 - F0390);
        var t0 = i7 * (F0298 - F0899) + i1 * -F0899 + z3r;
        var t1 = i5 * (F2053 - F2562) + i3 * -F2562 + z4r;
        var t2 = i5 * -F2562 + i3 * (F3072 - F2562) + z3r;
        var t3 = i7 * -F0899 + i1 * (F1501 - F0899) + z4r;

        var round = Vector256.Create(1 << (shift - 1));
        o0 = Vector256.ShiftRightArithmetic(tmp10 + t3 + round, shift);
        o7 = Vector256.ShiftRightArithmetic(tmp10 - t3 + round, shift);
        o1 = Vector256.ShiftRightArithmetic(tmp11 + t2 + round, shift);
        o6 = Vector256.ShiftRightArithmetic(tmp11 - t2 + round, shift);
        o2 = Vector256.ShiftRightArithmetic(tmp12 + t1 + round, shift);
        o5 = Vector256.ShiftRightArithmetic(tmp12 - t1 + round, shift);
        o3 = Vector256.ShiftRightArithmetic(tmp13 + t0 + round, shift);
        o4 = Vector256.ShiftRightArithmetic(tmp13 - t0 + round, shift);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose(ref Vector128<short> w0, ref Vector128<short> w1, ref Vector128<short> w2, ref Vector128<short> w3,
        ref Vector128<short> w4, ref Vector128<short> w5, ref Vector128<short> w6, ref Vector128<short> w7)
    {
        var t0 = Sse2.UnpackLow(w0, w1).AsInt32();
        var t1 = Sse2.UnpackHigh(w0, w1).AsInt32();
        var t2 = Sse2.UnpackLow(w2, w3).AsInt32();
        var t3 = Sse2.UnpackHigh(w2, w3).AsInt32();
        var t4 = Sse2.UnpackLow(w4, w5).AsInt32();
        var t5 = Sse2.UnpackHigh(w4, w5).AsInt32();
        var t6 = Sse2.UnpackLow(w6, w7).AsInt32();
        var t7 = Sse2.UnpackHigh(w6, w7).AsInt32();
        var u0 = Sse2.UnpackLow(t0, t2).AsInt64();
        var u1 = Sse2.UnpackHigh(t0, t2).AsInt64();
        var u2 = Sse2.UnpackLow(t1, t3).AsInt64();
        var u3 = Sse2.UnpackHigh(t1, t3).AsInt64();
        var u4 = Sse2.UnpackLow(t4, t6).AsInt64();
        var u5 = Sse2.UnpackHigh(t4, t6).AsInt64();
        var u6 = Sse2.UnpackLow(t5, t7).AsInt64();
        var u7 = Sse2.UnpackHigh(t5, t7).AsInt64();
        w0 = Sse2.UnpackLow(u0, u4).AsInt16();
        w1 = Sse2.UnpackHigh(u0, u4).AsInt16();
        w2 = Sse2.UnpackLow(u1, u5).AsInt16();
        w3 = Sse2.UnpackHigh(u1, u5).AsInt16();
        w4 = Sse2.UnpackLow(u2, u6).AsInt16();
        w5 = Sse2.UnpackHigh(u2, u6).AsInt16();
        w6 = Sse2.UnpackLow(u3, u7).AsInt16();
        w7 = Sse2.UnpackHigh(u3, u7).AsInt16();
    }
}
