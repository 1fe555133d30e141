using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// The official ResizeLongestSide (segment_anything/utils/transforms.py): scales an image so its
/// longer side is <see cref="TargetLength"/>, and maps point and box prompts the same way.
/// </summary>
internal sealed class ResizeLongestSide(int targetLength)
{
    public int TargetLength { get; } = targetLength;

    /// <summary>(newH, newW): each side times target/longest, rounded half up as int(x + 0.5).</summary>
    public static (int Height, int Width) GetPreprocessShape(int oldH, int oldW, int longSideLength)
    {
        double scale = longSideLength * 1.0 / Math.Max(oldH, oldW);
        double newH = oldH * scale, newW = oldW * scale;
        return ((int)(newH + 0.5), (int)(newW + 0.5));
    }

    /// <summary>The image resized as the reference does it: through PIL, bilinear, antialiased.</summary>
    public RgbImage ApplyImage(RgbImage image)
    {
        var (h, w) = GetPreprocessShape(image.Height, image.Width, TargetLength);
        if (h == 0 || w == 0)
            throw new SamException($"image {image.Height}×{image.Width} is too elongated: its short side would resize to 0 pixels at long side {TargetLength}");
        return PillowResize.Bilinear(image, h, w);
    }

    /// <summary>
    /// Maps (x, y) pairs, interleaved, from the original image's pixels to the resized image's,
    /// in float64 as the reference does (x by newW/oldW, y by newH/oldH).
    /// </summary>
    public double[] ApplyCoords(ReadOnlySpan<double> xy, (int Height, int Width) originalSize)
    {
        if (xy.Length % 2 != 0) throw new ArgumentException($"coordinates come in (x, y) pairs; got {xy.Length} values");
        var (oldH, oldW) = originalSize;
        var (newH, newW) = GetPreprocessShape(oldH, oldW, TargetLength);
        double sx = (double)newW / oldW, sy = (double)newH / oldH;
        var result = new double[xy.Length];
        for (int i = 0; i < xy.Length; i += 2)
        {
            result[i] = xy[i] * sx;
            result[i + 1] = xy[i + 1] * sy;
        }
        return result;
    }

    /// <summary>Boxes as (x0, y0, x1, y1) rows: both corners mapped as points.</summary>
    public double[] ApplyBoxes(ReadOnlySpan<double> boxes, (int Height, int Width) originalSize)
    {
        if (boxes.Length % 4 != 0) throw new ArgumentException($"boxes come as (x0, y0, x1, y1); got {boxes.Length} values");
        return ApplyCoords(boxes, originalSize);
    }
}
