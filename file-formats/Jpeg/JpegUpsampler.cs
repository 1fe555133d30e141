using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.FileFormats;

/// <summary>
/// One component's samples brought to full resolution, row by row, as libjpeg-turbo's default
/// ("fancy") upsampling does: a triangle filter where the component has half the resolution in
/// one or both directions (3/4 of the nearer sample, 1/4 of the farther, with libjpeg's
/// alternating rounding), plain replication for other integer ratios and for components at most
/// two samples wide. Past the edges the last real sample row or column is repeated.
/// </summary>
sealed class JpegUpsampler
{
    enum Method { Full, Replicate, H2V1, H1V2, H2V2 }

    /// <summary>Bytes a row buffer needs beyond the image width: vector loops write whole vectors.</summary>
    public const int RowPadding = 64;

    readonly byte[] plane;
    readonly int stride, width, height, hExpand, vExpand;
    readonly Method method;

    /// <param name="plane">The component's samples, <see cref="PlaneStride"/> bytes a row, with <see cref="RowPadding"/> bytes after the last.</param>
    public JpegUpsampler(JpegFrame frame, JpegComponent c, byte[] plane)
    {
        this.plane = plane;
        stride = PlaneStride(c);
        (width, height) = (c.Width, c.Height);
        if (frame.MaxH % c.H != 0 || frame.MaxV % c.V != 0)
            throw JpegException.Unsupported($"sampling factors {c.H}×{c.V} against {frame.MaxH}×{frame.MaxV} are not an integer ratio");
        (hExpand, vExpand) = (frame.MaxH / c.H, frame.MaxV / c.V);
        method = (hExpand, vExpand) switch
        {
            (1, 1) => Method.Full,
            (2, 1) when width > 2 => Method.H2V1,
            (1, 2) => Method.H1V2,
            (2, 2) when width > 2 => Method.H2V2,
            _ => Method.Replicate,
        };
    }

    public static int PlaneStride(JpegComponent c) => c.BlocksWide * 8;

    /// <summary>Shorts the scratch of <see cref="Row"/> needs for a component this wide.</summary>
    public static int ScratchLength(int width) => width + RowPadding;

    /// <summary>Output row <paramref name="y"/>: its first <paramref name="count"/> samples, and possibly more into dst's padding.</summary>
    public void Row(int y, Span<byte> dst, int count, Span<short> scratch)
    {
        switch (method)
        {
            case Method.Full:
                plane.AsSpan(y * stride, count).CopyTo(dst);
                break;
            case Method.Replicate:
            {
                var src = plane.AsSpan(y / vExpand * stride);
                for (int x = 0; x < count; x++) dst[x] = src[x / hExpand];
                break;
            }
            case Method.H2V1:
            {
                int row = y * stride, i = 0;
                if (Avx2.IsSupported)
                    for (; i < width; i += 16)
                        Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(plane), (nuint)(row + i)))
                            .StoreUnsafe(ref MemoryMarshal.GetReference(scratch), (nuint)(i + 1));
                for (; i < width; i++) scratch[i + 1] = plane[row + i];
                Horizontal(scratch, width, dst, count, leftBias: 1, rightBias: 2, shift: 2);
                break;
            }
            case Method.H1V2:
            {
                var (near, far, bias) = Vertical(y);
                int x = 0;
                if (Avx2.IsSupported)
                    for (; x < count; x += 16)
                    {
                        var s = ColumnSums(near + x, far + x) + Vector256.Create((short)bias);
                        var packed = Avx2.PackUnsignedSaturate(Vector256.ShiftRightLogical(s, 2), Vector256<short>.Zero);
                        Avx2.Permute4x64(packed.AsInt64(), 0b1000).GetLower().AsByte().StoreUnsafe(ref MemoryMarshal.GetReference(dst), (nuint)x);
                    }
                for (; x < count; x++) dst[x] = (byte)((plane[near + x] * 3 + plane[far + x] + bias) >> 2);
                break;
            }
            case Method.H2V2:
            {
                var (near, far, _) = Vertical(y);
                int i = 0;
                if (Avx2.IsSupported)
                    for (; i < width; i += 16) (ColumnSums(near + i, far + i)).StoreUnsafe(ref MemoryMarshal.GetReference(scratch), (nuint)(i + 1));
                for (; i < width; i++) scratch[i + 1] = (short)(plane[near + i] * 3 + plane[far + i]);
                Horizontal(scratch, width, dst, count, leftBias: 8, rightBias: 7, shift: 4);
                break;
            }
        }
    }

    /// <summary>For a vertical half-resolution component: where the nearer source row and the farther one (above for even rows, below for odd) start, and the rounding bias.</summary>
    (int Near, int Far, int Bias) Vertical(int y)
    {
        int sy = y >> 1;
        int fy = (y & 1) == 0 ? Math.Max(sy - 1, 0) : Math.Min(sy + 1, height - 1);
        return (sy * stride, fy * stride, (y & 1) == 0 ? 1 : 2);
    }

    /// <summary>3·near + far for 16 samples.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    Vector256<short> ColumnSums(int near, int far)
    {
        ref byte p = ref MemoryMarshal.GetArrayDataReference(plane);
        var n = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, (nuint)near));
        var f = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref p, (nuint)far));
        return n * 3 + f;
    }

    /// <summary>
    /// The horizontal half of the triangle filter on the row of (column) sums s at scratch[1..n]:
    /// out[2i] = (3·s[i] + s[i−1] + leftBias) » shift, out[2i+1] = (3·s[i] + s[i+1] + rightBias) » shift.
    /// </summary>
    static void Horizontal(Span<short> scratch, int n, Span<byte> dst, int count, int leftBias, int rightBias, int shift)
    {
        scratch[0] = scratch[1];
        scratch[n + 1] = scratch[n];
        int i = 0;
        if (Avx2.IsSupported)
        {
            ref short s = ref MemoryMarshal.GetReference(scratch);
            ref byte d = ref MemoryMarshal.GetReference(dst);
            var lb = Vector256.Create((short)leftBias);
            var rb = Vector256.Create((short)rightBias);
            for (; 2 * i + 1 < count; i += 16)
            {
                var near = Vector256.LoadUnsafe(ref s, (nuint)(i + 1)) * 3;
                var even = Vector256.ShiftRightLogical(near + Vector256.LoadUnsafe(ref s, (nuint)i) + lb, shift);
                var odd = Vector256.ShiftRightLogical(near + Vector256.LoadUnsafe(ref s, (nuint)(i + 2)) + rb, shift);
                (even | Vector256.ShiftLeft(odd, 8)).AsByte().StoreUnsafe(ref d, (nuint)(2 * i));
            }
        }
        for (; 2 * i < count; i++)
        {
            int near = scratch[i + 1] * 3;
            dst[2 * i] = (byte)((near + scratch[i] + leftBias) >> shift);
            if (2 * i + 1 < count) dst[2 * i + 1] = (byte)((near + scratch[i + 2] + rightBias) >> shift);
        }
    }
}
