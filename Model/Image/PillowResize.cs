using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// Pillow's <c>Image.resize(size, Image.BILINEAR)</c> on 8-bit images, bit for bit: the
/// antialiasing convolution resampler of Pillow ≥ 7 (libImaging/Resample.c). It is separable:
/// a horizontal pass into an 8-bit intermediate, then a vertical pass. Each output sample is a
/// triangle filter stretched by the scale when shrinking (so every source pixel under it
/// contributes), its weights normalised in double and then rounded to fixed point with 22
/// fractional bits; sums start at one half and are shifted and clipped back to 8 bits.
/// A pass whose axis keeps its size is skipped, as Pillow skips it.
/// </summary>
internal static class PillowResize
{
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>The triangle's half-width at scale 1.</summary>
    const double Support = 1.0;

    public static RgbImage Bilinear(RgbImage image, int newHeight, int newWidth) =>
        new(newHeight, newWidth, Bilinear(image.Pixels, image.Height, image.Width, 3, newHeight, newWidth));

    /// <summary>Resizes an H×W×C 8-bit image (any channel count; channels are filtered independently).</summary>
    public static byte[] Bilinear(ReadOnlySpan<byte> src, int height, int width, int channels, int newHeight, int newWidth)
    {
        if (height <= 0 || width <= 0 || channels <= 0 || newHeight <= 0 || newWidth <= 0)
            throw new ArgumentException($"cannot resize {height}×{width}×{channels} to {newHeight}×{newWidth}");
        if (src.Length != (long)height * width * channels)
            throw new ArgumentException($"{src.Length} bytes do not make a {height}×{width}×{channels} image");

        var vertical = Coefficients.For(height, newHeight);
        byte[] current = src.ToArray();
        int rows = height, firstRow = 0;

        if (newWidth != width)
        {
            // Only the source rows the vertical pass will read are resampled horizontally.
            firstRow = vertical.Start[0];
            int lastRow = vertical.Start[newHeight - 1] + vertical.Count[newHeight - 1];
            rows = lastRow - firstRow;
            current = Horizontal(current, width, channels, firstRow, rows, newWidth, Coefficients.For(width, newWidth));
        }
        if (newHeight != height)
            current = Vertical(current, newWidth, channels, firstRow, newHeight, vertical);
        return current;
    }

    static byte[] Horizontal(byte[] src, int width, int channels, int firstRow, int rows, int newWidth, Coefficients k)
    {
        var dst = new byte[(long)rows * newWidth * channels];
        CpuCores.For(0, rows, y =>
        {
            int inRow = (firstRow + y) * width * channels, outRow = y * newWidth * channels;
            for (int x = 0; x < newWidth; x++)
            {
                int start = k.Start[x], count = k.Count[x], w0 = x * k.Size;
                for (int c = 0; c < channels; c++)
                {
                    int sum = 1 << (PrecisionBits - 1);
                    for (int i = 0; i < count; i++)
                        sum += src[inRow + (start + i) * channels + c] * k.Weights[w0 + i];
                    dst[outRow + x * channels + c] = Clip8(sum);
                }
            }
        });
        return dst;
    }

    /// <summary><paramref name="rowOffset"/> is the source row that <paramref name="src"/>'s first row holds.</summary>
    static byte[] Vertical(byte[] src, int width, int channels, int rowOffset, int newHeight, Coefficients k)
    {
        int stride = width * channels;
        var dst = new byte[(long)newHeight * stride];
        CpuCores.For(0, newHeight, y =>
        {
            int start = k.Start[y] - rowOffset, count = k.Count[y], w0 = y * k.Size;
            for (int j = 0; j < stride; j++)
            {
                int sum = 1 << (PrecisionBits - 1);
                for (int i = 0; i < count; i++)
                    sum += src[(start + i) * stride + j] * k.Weights[w0 + i];
                dst[y * stride + j] = Clip8(sum);
            }
        });
        return dst;
    }

    static byte Clip8(int sum)
    {
        int v = sum >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    /// <summary>
    /// For each output sample along one axis: the first source index, the number of taps, and
    /// the taps' fixed-point weights (row-major, <see cref="Size"/> slots per output sample).
    /// </summary>
    sealed class Coefficients
    {
        public required int[] Start { get; init; }
        public required int[] Count { get; init; }
        public required int[] Weights { get; init; }
        public required int Size { get; init; }

        public static Coefficients For(int inSize, int outSize)
        {
            // Pillow takes the source extent as a float box (0, inSize) and divides in double.
            double scale = (double)((float)inSize - 0f) / outSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = Support * filterScale;
            int size = (int)Math.Ceiling(support) * 2 + 1;
            double invFilterScale = 1.0 / filterScale;

            var start = new int[outSize];
            var count = new int[outSize];
            var weights = new int[outSize * size];
            var w = new double[size];
            for (int o = 0; o < outSize; o++)
            {
                double center = (o + 0.5) * scale;
                // (int) truncates toward zero, as C's cast does; the +0.5 rounds the positive cases.
                int lo = Math.Max((int)(center - support + 0.5), 0);
                int hi = Math.Min((int)(center + support + 0.5), inSize);
                int n = hi - lo;
                double total = 0;
                for (int i = 0; i < n; i++)
                {
                    w[i] = Triangle((i + lo - center + 0.5) * invFilterScale);
                    total += w[i];
                }
                for (int i = 0; i < n; i++)
                {
                    double normalized = total != 0 ? w[i] / total : w[i];
                    weights[o * size + i] = ToFixed(normalized);
                }
                start[o] = lo;
                count[o] = n;
            }
            return new Coefficients { Start = start, Count = count, Weights = weights, Size = size };
        }

        static double Triangle(double x)
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }

        // Round half away from zero, then truncate: C's (int)(±0.5 + w·2^22).
        static int ToFixed(double w) => w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
    }
}
