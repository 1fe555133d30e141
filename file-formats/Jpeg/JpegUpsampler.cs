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

    readonly byte[] plane;
    readonly int stride, width, height, hExpand, vExpand;
    readonly Method method;

    public JpegUpsampler(JpegFrame frame, JpegComponent c, byte[] plane)
    {
        this.plane = plane;
        stride = c.BlocksWide * 8;
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

    /// <summary>Output row <paramref name="y"/>, its first dst.Length samples.</summary>
    public void Row(int y, Span<byte> dst, Span<short> scratch)
    {
        switch (method)
        {
            case Method.Full:
                plane.AsSpan(y * stride, dst.Length).CopyTo(dst);
                break;
            case Method.Replicate:
            {
                var src = plane.AsSpan(y / vExpand * stride);
                for (int x = 0; x < dst.Length; x++) dst[x] = src[x / hExpand];
                break;
            }
            case Method.H2V1:
                H2V1(plane.AsSpan(y * stride, width), dst);
                break;
            case Method.H1V2:
            {
                var (near, far, bias) = Vertical(y);
                var cur = plane.AsSpan(near, width);
                var other = plane.AsSpan(far, width);
                for (int x = 0; x < dst.Length; x++) dst[x] = (byte)((cur[x] * 3 + other[x] + bias) >> 2);
                break;
            }
            case Method.H2V2:
            {
                var (near, far, _) = Vertical(y);
                var cur = plane.AsSpan(near, width);
                var other = plane.AsSpan(far, width);
                var sums = scratch[..width];
                for (int i = 0; i < width; i++) sums[i] = (short)(cur[i] * 3 + other[i]);
                H2V2(sums, dst);
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

    static void H2V1(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int n = src.Length;
        for (int i = 0; i < n; i++)
        {
            int near = src[i] * 3;
            int x = 2 * i;
            if (x < dst.Length) dst[x] = (byte)((near + src[Math.Max(i - 1, 0)] + 1) >> 2);
            if (x + 1 < dst.Length) dst[x + 1] = (byte)((near + src[Math.Min(i + 1, n - 1)] + 2) >> 2);
        }
    }

    /// <summary>The horizontal half of the 2×2 triangle filter, on column sums 3·near + far (rounding 8 to the left, 7 to the right).</summary>
    static void H2V2(ReadOnlySpan<short> sums, Span<byte> dst)
    {
        int n = sums.Length;
        for (int i = 0; i < n; i++)
        {
            int near = sums[i] * 3;
            int x = 2 * i;
            if (x < dst.Length) dst[x] = (byte)((near + sums[Math.Max(i - 1, 0)] + 8) >> 4);
            if (x + 1 < dst.Length) dst[x + 1] = (byte)((near + sums[Math.Min(i + 1, n - 1)] + 7) >> 4);
        }
    }
}
