using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// Sam.preprocess: (x − pixel_mean) / pixel_std per channel, then zero padding at the bottom and
/// right to the encoder's square input. Computed in double and rounded once to float.
/// </summary>
internal static class Preprocess
{
    // float, not double: the official Sam registers these as float32 buffers (torch.Tensor(list)),
    // so even its float64 run subtracts 123.675f, not 123.675. With the decimal constants in double
    // 38% of the fixture's values came out one ulp off; with these, none do.
    public static readonly float[] PixelMean = [123.675f, 116.28f, 103.53f];
    public static readonly float[] PixelStd = [58.395f, 57.12f, 57.375f];

    /// <summary>The resized image as 1×3×size×size floats, channel-major (CHW).</summary>
    public static float[] Normalize(RgbImage resized, int size = 1024)
    {
        if (resized.Height > size || resized.Width > size)
            throw new ArgumentException($"image {resized.Height}×{resized.Width} does not fit the {size}×{size} input");
        var x = new float[3L * size * size];
        int h = resized.Height, w = resized.Width;
        var pixels = resized.Pixels;
        CpuCores.For(0, 3 * h, cy =>
        {
            int c = cy / h, y = cy % h;
            double mean = PixelMean[c], std = PixelStd[c];
            int row = (c * size + y) * size;
            for (int col = 0; col < w; col++)
                x[row + col] = (float)((pixels[(y * w + col) * 3 + c] - mean) / std);
        });
        return x;
    }

    /// <summary>The encoder input for an image: ResizeLongestSide(size), then <see cref="Normalize"/>.</summary>
    public static (float[] Input, (int Height, int Width) InputSize) Apply(RgbImage image, int size = 1024)
    {
        var resized = new ResizeLongestSide(size).ApplyImage(image);
        return (Normalize(resized, size), (resized.Height, resized.Width));
    }
}
