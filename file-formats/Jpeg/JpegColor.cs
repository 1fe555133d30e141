using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.FileFormats;

/// <summary>What a JPEG's components mean, decided as libjpeg decides it (JFIF and Adobe markers, then component ids).</summary>
enum JpegColorSpace { Grayscale, YCbCr, Rgb, Cmyk, Ycck }

/// <summary>
/// Full-resolution component rows to RGB as cv2.imread gets them: libjpeg-turbo's fixed-point
/// YCbCr→RGB (16-bit tables, jdcolor.c), grey replicated, and for four components libjpeg's CMYK
/// (YCCK first converted to inverted RGB, K kept) followed by OpenCV's CMYK→BGR formula.
/// </summary>
static class JpegColor
{
    const int ScaleBits = 16, Half = 1 << (ScaleBits - 1);

    static int Fix(double x) => (int)(x * (1 << ScaleBits) + 0.5);

    static readonly int CrToR = Fix(1.40200), CbToB = Fix(1.77200), CrToG = -Fix(0.71414), CbToG = -Fix(0.34414);

    // R = Y + CrR[cr], G = Y + ((CbG[cb] + CrG[cr]) >> 16), B = Y + CbB[cb]: jdcolor.c's tables.
    static readonly int[] CrR = new int[256], CbB = new int[256], CrG = new int[256], CbG = new int[256];

    static JpegColor()
    {
        for (int i = 0; i < 256; i++)
        {
            int x = i - 128;
            CrR[i] = (CrToR * x + Half) >> ScaleBits;
            CbB[i] = (CbToB * x + Half) >> ScaleBits;
            CrG[i] = CrToG * x;
            CbG[i] = CbToG * x + Half;
        }
    }

    /// <param name="c0">Component rows, each at least width + 16 long.</param>
    public static void ToRgb(JpegColorSpace space, ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, ReadOnlySpan<byte> c3, Span<byte> rgb)
    {
        int width = rgb.Length / 3, x = 0;
        if (Ssse3.IsSupported && Avx2.IsSupported && space is JpegColorSpace.YCbCr or JpegColorSpace.Grayscale or JpegColorSpace.Rgb)
        {
            ref byte y0 = ref MemoryMarshal.GetReference(c0), y1 = ref MemoryMarshal.GetReference(c1), y2 = ref MemoryMarshal.GetReference(c2);
            ref byte o = ref MemoryMarshal.GetReference(rgb);
            for (; x + 16 <= width; x += 16)
            {
                var a = Vector128.LoadUnsafe(ref y0, (nuint)x);
                var (r, g, b) = space switch
                {
                    JpegColorSpace.Grayscale => (a, a, a),
                    JpegColorSpace.Rgb => (a, Vector128.LoadUnsafe(ref y1, (nuint)x), Vector128.LoadUnsafe(ref y2, (nuint)x)),
                    _ => YccToRgb(a, Vector128.LoadUnsafe(ref y1, (nuint)x), Vector128.LoadUnsafe(ref y2, (nuint)x)),
                };
                Interleave(r, g, b, ref Unsafe.Add(ref o, 3 * x));
            }
        }
        for (; x < width; x++)
        {
            var px = rgb.Slice(3 * x, 3);
            switch (space)
            {
                case JpegColorSpace.Grayscale:
                    px[0] = px[1] = px[2] = c0[x];
                    break;
                case JpegColorSpace.Rgb:
                    (px[0], px[1], px[2]) = (c0[x], c1[x], c2[x]);
                    break;
                case JpegColorSpace.YCbCr:
                    (px[0], px[1], px[2]) = YccToRgb(c0[x], c1[x], c2[x]);
                    break;
                case JpegColorSpace.Cmyk:
                    Cmyk(c0[x], c1[x], c2[x], c3[x], px);
                    break;
                case JpegColorSpace.Ycck:
                {
                    var (r, g, b) = YccToRgb(c0[x], c1[x], c2[x]);
                    Cmyk(255 - r, 255 - g, 255 - b, c3[x], px);
                    break;
                }
            }
        }
    }

    static (byte R, byte G, byte B) YccToRgb(int y, int cb, int cr) =>
        (Clamp(y + CrR[cr]), Clamp(y + ((CbG[cb] + CrG[cr]) >> ScaleBits)), Clamp(y + CbB[cb]));

    /// <summary>The tables' arithmetic for 16 pixels, in 32-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector128<byte> R, Vector128<byte> G, Vector128<byte> B) YccToRgb(Vector128<byte> y, Vector128<byte> cb, Vector128<byte> cr)
    {
        var (rLo, gLo, bLo) = YccToRgb(Avx2.ConvertToVector256Int32(y), Avx2.ConvertToVector256Int32(cb), Avx2.ConvertToVector256Int32(cr));
        var (rHi, gHi, bHi) = YccToRgb(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(y, 8)),
            Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(cb, 8)), Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(cr, 8)));
        return (Bytes(rLo, rHi), Bytes(gLo, gHi), Bytes(bLo, bHi));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<int> R, Vector256<int> G, Vector256<int> B) YccToRgb(Vector256<int> y, Vector256<int> cb, Vector256<int> cr)
    {
        var x = cb - Vector256.Create(128);
        var z = cr - Vector256.Create(128);
        var half = Vector256.Create(Half);
        var r = y + Vector256.ShiftRightArithmetic(z * CrToR + half, ScaleBits);
        var g = y + Vector256.ShiftRightArithmetic(x * CbToG + z * CrToG + half, ScaleBits);
        var b = y + Vector256.ShiftRightArithmetic(x * CbToB + half, ScaleBits);
        return (r, g, b);
    }

    /// <summary>16 values saturated to bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<byte> Bytes(Vector256<int> lo, Vector256<int> hi)
    {
        var shorts = Avx2.Permute4x64(Avx2.PackSignedSaturate(lo, hi).AsInt64(), 0b11011000).AsInt16();
        return Sse2.PackUnsignedSaturate(shorts.GetLower(), shorts.GetUpper());
    }

    /// <summary>pshufb masks taking channel c of pixel p to byte 3p + c of a 48-byte group: [part · 3 + channel].</summary>
    static readonly Vector128<byte>[] InterleaveMasks = Enumerable.Range(0, 9).Select(i =>
    {
        int part = i / 3, channel = i % 3;
        var m = new byte[16];
        for (int j = 0; j < 16; j++) m[j] = (16 * part + j) % 3 == channel ? (byte)((16 * part + j) / 3) : (byte)0x80;
        return Vector128.Create(m);
    }).ToArray();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Interleave(Vector128<byte> r, Vector128<byte> g, Vector128<byte> b, ref byte output)
    {
        var m = InterleaveMasks;
        for (int part = 0; part < 3; part++)
            (Ssse3.Shuffle(r, m[3 * part]) | Ssse3.Shuffle(g, m[3 * part + 1]) | Ssse3.Shuffle(b, m[3 * part + 2])).StoreUnsafe(ref output, (nuint)(16 * part));
    }

    /// <summary>OpenCV's icvCvt_CMYK2BGR: each of C, M, Y (as Adobe stores them, inverted) scaled by K.</summary>
    static void Cmyk(int c, int m, int y, int k, Span<byte> rgb)
    {
        rgb[0] = (byte)(k - ((255 - c) * k >> 8));
        rgb[1] = (byte)(k - ((255 - m) * k >> 8));
        rgb[2] = (byte)(k - ((255 - y) * k >> 8));
    }

    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);
}
