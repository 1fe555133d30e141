using SamEngine.Engine;
using StbImageWriteSharp;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// A picture of a prediction: each prompt's best mask (highest predicted IoU) tinted in its own
/// colour with its outline, foreground points green and background points red, boxes outlined.
/// </summary>
internal static class MaskOverlay
{
    static readonly byte[][] Palette =
    [
        [30, 144, 255], [255, 140, 0], [186, 85, 211], [0, 206, 209], [255, 215, 0],
        [220, 20, 60], [50, 205, 50], [255, 105, 180], [139, 69, 19], [70, 130, 180],
    ];

    /// <param name="image">the original image, or null for a grey canvas of the prediction's size.</param>
    /// <param name="points">per prompt, its (x, y, label) points in original pixels (may be empty).</param>
    /// <param name="boxes">per prompt, its box (x0, y0, x1, y1) or null.</param>
    public static RgbImage Draw(RgbImage? image, SamPrediction prediction,
        IReadOnlyList<(float X, float Y, int Label)> points, IReadOnlyList<float[]> boxes)
    {
        int h = prediction.Height, w = prediction.Width;
        if (image != null && (image.Height != h || image.Width != w))
            throw new ArgumentException($"image {image.Width}×{image.Height} is not the prediction's {w}×{h}");
        var masks = prediction.Masks ?? ThresholdLogits(prediction);
        var pixels = image != null ? (byte[])image.Pixels.Clone() : Enumerable.Repeat((byte)96, h * w * 3).ToArray();
        long plane = (long)h * w;
        for (int b = 0; b < prediction.Batch; b++)
        {
            int best = 0;
            for (int c = 1; c < prediction.MaskCount; c++)
                if (prediction.IouPredictions[b * prediction.MaskCount + c] > prediction.IouPredictions[b * prediction.MaskCount + best]) best = c;
            var mask = masks.AsSpan((int)((b * prediction.MaskCount + best) * plane), (int)plane);
            Tint(pixels, h, w, mask, Palette[b % Palette.Length]);
        }
        int thickness = Math.Max(2, Math.Min(h, w) / 300);
        for (int b = 0; b < boxes.Count; b++)
            DrawBox(pixels, h, w, boxes[b], Palette[b % Palette.Length], thickness);
        int radius = Math.Max(4, Math.Min(h, w) / 100);
        foreach (var (x, y, label) in points)
            DrawPoint(pixels, h, w, x, y, radius, label == 1 ? [0, 200, 0] : [220, 0, 0]);
        return new RgbImage(h, w, pixels);
    }

    public static void WritePng(RgbImage image, string path) =>
        AtomicFile.Write(path, stream => new ImageWriter().WritePng(image.Pixels, image.Width, image.Height, ColorComponents.RedGreenBlue, stream));

    /// <summary>Blends the mask half-way to the colour and outlines it in the full colour.</summary>
    public static void Tint(byte[] pixels, int h, int w, ReadOnlySpan<bool> mask, byte[] colour)
    {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                if (!mask[i]) continue;
                bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
                for (int c = 0; c < 3; c++)
                    pixels[3 * i + c] = edge ? colour[c] : (byte)((pixels[3 * i + c] + colour[c]) / 2);
            }
    }

    static bool[] ThresholdLogits(SamPrediction p) => Array.ConvertAll(p.MaskLogits!, v => v > 0f);

    static void DrawBox(byte[] pixels, int h, int w, float[] box, byte[] colour, int thickness)
    {
        int x0 = (int)MathF.Round(box[0]), y0 = (int)MathF.Round(box[1]), x1 = (int)MathF.Round(box[2]), y1 = (int)MathF.Round(box[3]);
        for (int t = 0; t < thickness; t++)
        {
            for (int x = x0; x <= x1; x++)
            {
                Set(pixels, h, w, x, y0 + t, colour);
                Set(pixels, h, w, x, y1 - t, colour);
            }
            for (int y = y0; y <= y1; y++)
            {
                Set(pixels, h, w, x0 + t, y, colour);
                Set(pixels, h, w, x1 - t, y, colour);
            }
        }
    }

    static void DrawPoint(byte[] pixels, int h, int w, float cx, float cy, int radius, byte[] colour)
    {
        byte[] ring = [255, 255, 255];
        for (int dy = -radius - 1; dy <= radius + 1; dy++)
            for (int dx = -radius - 1; dx <= radius + 1; dx++)
            {
                double d = Math.Sqrt(dx * dx + dy * dy);
                if (d > radius + 1) continue;
                Set(pixels, h, w, (int)MathF.Round(cx) + dx, (int)MathF.Round(cy) + dy, d > radius - 1 ? ring : colour);
            }
    }

    static void Set(byte[] pixels, int h, int w, int x, int y, byte[] colour)
    {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        int i = 3 * (y * w + x);
        pixels[i] = colour[0];
        pixels[i + 1] = colour[1];
        pixels[i + 2] = colour[2];
    }
}
