using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// libjpeg-turbo's output stage on the decoded coefficients: the inverse DCT of every block that
/// holds real samples, then row by row upsampling and colour conversion to RGB.
/// </summary>
static class JpegOutput
{
    const int BandRows = 16;

    public static byte[] ToRgb(JpegFrame frame, JpegColorSpace space)
    {
        var components = frame.Components;
        var upsamplers = new JpegUpsampler[components.Length];
        for (int i = 0; i < components.Length; i++)
            upsamplers[i] = new JpegUpsampler(frame, components[i], Samples(components[i]));

        int width = frame.Width, height = frame.Height;
        int scratchLength = JpegUpsampler.ScratchLength(components.Max(c => c.Width));
        var rgb = new byte[(long)width * height * 3];
        CpuCores.For(0, (height + BandRows - 1) / BandRows, band =>
        {
            var rows = new byte[4][];
            for (int i = 0; i < 4; i++) rows[i] = i < components.Length ? new byte[width + JpegUpsampler.RowPadding] : rows[0];
            var scratch = new short[scratchLength];
            for (int y = band * BandRows; y < Math.Min(height, (band + 1) * BandRows); y++)
            {
                for (int i = 0; i < components.Length; i++) upsamplers[i].Row(y, rows[i], width, scratch);
                JpegColor.ToRgb(space, rows[0], rows[1], rows[2], rows[3], rgb.AsSpan((int)((long)y * width * 3), width * 3));
            }
        });
        return rgb;
    }

    /// <summary>The component's samples from its coefficients, with room after the last row for vector loads.</summary>
    static byte[] Samples(JpegComponent c)
    {
        int stride = JpegUpsampler.PlaneStride(c);
        var plane = new byte[(long)stride * c.BlocksHigh * 8 + JpegUpsampler.RowPadding];
        var quant = c.Quant!;
        CpuCores.For(0, c.BlocksHigh, row =>
        {
            for (int col = 0; col < c.BlocksWide; col++)
                IslowIdct.Transform(c.Block(row, col), quant, plane.AsSpan(row * 8 * stride + col * 8), stride);
        });
        return plane;
    }
}
