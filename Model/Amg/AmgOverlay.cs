using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// A picture of automatic mask generation: every mask tinted in its own colour with its outline,
/// largest first so that smaller masks stay visible on top (as the official notebook shows them).
/// </summary>
internal static class AmgOverlay
{
    public static RgbImage Draw(RgbImage image, AmgResult result)
    {
        int h = result.Height, w = result.Width;
        if (image.Height != h || image.Width != w)
            throw new ArgumentException($"image {image.Width}×{image.Height} is not the masks' {w}×{h}");
        var pixels = (byte[])image.Pixels.Clone();
        var order = Enumerable.Range(0, result.Masks.Count).OrderByDescending(i => result.Masks[i].Area).ThenBy(i => i);
        foreach (int index in order)
        {
            var record = result.Masks[index];
            var mask = record.BinaryMask ?? record.Rle.Decode();
            MaskOverlay.Tint(pixels, h, w, mask, Colour(index));
        }
        return new RgbImage(h, w, pixels);
    }

    /// <summary>Hues a golden angle apart, so neighbouring indices never look alike.</summary>
    static byte[] Colour(int index)
    {
        double hue = (index * 0.6180339887498949) % 1.0 * 6;
        int sector = (int)hue;
        double f = hue - sector;
        const double v = 235, s = 0.8;
        double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        var (r, g, b) = sector switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
        return [(byte)r, (byte)g, (byte)b];
    }
}
