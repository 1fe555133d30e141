using StbImageWriteSharp;

namespace SamEngine;

/// <summary>Masks as PNG files: the mask itself, or the image cut out by it.</summary>
public static class MaskPng
{
    /// <summary>An H×W row-major mask as an 8-bit greyscale PNG: 255 inside, 0 outside (as amg.py writes masks).</summary>
    public static byte[] Encode(ReadOnlySpan<bool> mask, int height, int width)
    {
        Check(mask, height, width);
        var pixels = new byte[mask.Length];
        for (int p = 0; p < pixels.Length; p++) pixels[p] = mask[p] ? (byte)255 : (byte)0;
        return Png(pixels, width, height, ColorComponents.Grey);
    }

    /// <summary>The image's pixels inside the mask, transparent outside: an RGBA PNG of the image's size.</summary>
    public static byte[] CutOut(RgbImage image, ReadOnlySpan<bool> mask)
    {
        Check(mask, image.Height, image.Width);
        var rgba = new byte[mask.Length * 4];
        for (int p = 0; p < mask.Length; p++)
        {
            if (!mask[p]) continue;
            rgba[4 * p] = image.Pixels[3 * p];
            rgba[4 * p + 1] = image.Pixels[3 * p + 1];
            rgba[4 * p + 2] = image.Pixels[3 * p + 2];
            rgba[4 * p + 3] = 255;
        }
        return Png(rgba, image.Width, image.Height, ColorComponents.RedGreenBlueAlpha);
    }

    static void Check(ReadOnlySpan<bool> mask, int height, int width)
    {
        if (height < 1 || width < 1 || mask.Length != (long)height * width)
            throw new ArgumentException($"a mask of {mask.Length} pixels is not {height}×{width}");
    }

    static byte[] Png(byte[] pixels, int width, int height, ColorComponents components)
    {
        using var stream = new MemoryStream();
        new ImageWriter().WritePng(pixels, width, height, components, stream);
        return stream.ToArray();
    }
}
