namespace SamEngine.Model;

/// <summary>
/// An uncompressed run-length encoding of a binary mask, the format of the reference's
/// mask_to_rle_pytorch and COCO's "uncompressed RLE": pixels in column-major order (down each
/// column, columns left to right), run lengths alternating 0s and 1s and starting with 0s (a
/// leading 0 when the first pixel is set). Size is (height, width) as COCO writes it.
/// </summary>
public sealed class Rle
{
    public int Height { get; }
    public int Width { get; }
    public int[] Counts { get; }

    public Rle(int height, int width, int[] counts)
    {
        long total = 0;
        foreach (int c in counts)
        {
            if (c < 0) throw new ArgumentException($"RLE has a negative run length {c}");
            total += c;
        }
        if (total != (long)height * width)
            throw new ArgumentException($"RLE runs add up to {total} pixels, not {height}×{width}");
        Height = height;
        Width = width;
        Counts = counts;
    }

    /// <summary>The number of set pixels (area_from_rle).</summary>
    public long Area
    {
        get
        {
            long area = 0;
            for (int i = 1; i < Counts.Length; i += 2) area += Counts[i];
            return area;
        }
    }

    /// <summary>Encodes a row-major h×w mask.</summary>
    public static Rle Encode(ReadOnlySpan<bool> mask, int height, int width) =>
        EncodePlaced(mask, height, width, 0, 0, height, width);

    /// <summary>
    /// Encodes a row-major mask of a crop as the mask of the whole image, zero outside the
    /// crop (uncrop_masks then mask_to_rle_pytorch), without building the padded mask.
    /// </summary>
    public static Rle EncodeUncropped(ReadOnlySpan<bool> cropMask, BoxXyxy crop, int imageHeight, int imageWidth)
    {
        if (crop.X0 < 0 || crop.Y0 < 0 || crop.X1 > imageWidth || crop.Y1 > imageHeight || crop.Width < 0 || crop.Height < 0)
            throw new ArgumentException($"crop {crop} is not inside the {imageHeight}×{imageWidth} image");
        return EncodePlaced(cropMask, crop.Height, crop.Width, crop.X0, crop.Y0, imageHeight, imageWidth);
    }

    static Rle EncodePlaced(ReadOnlySpan<bool> mask, int h, int w, int x0, int y0, int imageHeight, int imageWidth)
    {
        if (mask.Length != h * w) throw new ArgumentException($"mask has {mask.Length} pixels, not {h}×{w}");
        var runs = new RunWriter();
        for (int x = 0; x < imageWidth; x++)
        {
            int cx = x - x0;
            if (cx < 0 || cx >= w)
            {
                runs.Add(false, imageHeight);
                continue;
            }
            runs.Add(false, y0);
            for (int y = 0; y < h; y++) runs.Add(mask[y * w + cx], 1);
            runs.Add(false, imageHeight - y0 - h);
        }
        return new Rle(imageHeight, imageWidth, runs.Finish());
    }

    /// <summary>The row-major h×w mask (rle_to_mask).</summary>
    public bool[] Decode()
    {
        var mask = new bool[Height * Width];
        long position = 0;
        bool value = false;
        foreach (int count in Counts)
        {
            if (value)
                for (long p = position; p < position + count; p++)
                {
                    // p runs down the columns: row p mod h of column p / h.
                    mask[(p % Height) * Width + p / Height] = true;
                }
            position += count;
            value = !value;
        }
        return mask;
    }

    struct RunWriter
    {
        List<int>? counts;
        bool value;
        int run;

        public void Add(bool pixel, int length)
        {
            if (length == 0) return;
            counts ??= new List<int>();
            if (pixel != value)
            {
                counts.Add(run);
                value = pixel;
                run = 0;
            }
            run += length;
        }

        public int[] Finish()
        {
            counts ??= new List<int>();
            counts.Add(run);
            return counts.ToArray();
        }
    }
}
