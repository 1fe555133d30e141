using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// The runs are the gaps between the pixels where the column-major sequence changes value.
    /// Those are found row by row (a vectorised comparison of each row with the one above, plus
    /// each column's first and last pixel against what precedes and follows it in the padded
    /// image), then put in column-major order: the work follows the mask's edges, not its area.
    /// </summary>
    static Rle EncodePlaced(ReadOnlySpan<bool> mask, int h, int w, int x0, int y0, int imageHeight, int imageWidth)
    {
        if (mask.Length != h * w) throw new ArgumentException($"mask has {mask.Length} pixels, not {h}×{w}");
        var m = MemoryMarshal.AsBytes(mask);
        var changes = new List<int>();
        // A column's first pixel follows the previous column's last one only when the crop spans
        // the image's height and that column is in the crop; otherwise it follows padding (0).
        bool fullHeight = y0 == 0 && h == imageHeight;
        for (int x = 0; x < w; x++)
        {
            bool before = fullHeight && x > 0 && m[(h - 1) * w + x - 1] != 0;
            if ((m[x] != 0) != before) changes.Add((x0 + x) * imageHeight + y0);
        }
        for (int y = 1; y < h; y++)
        {
            var above = m.Slice((y - 1) * w, w);
            var row = m.Slice(y * w, w);
            for (int x = FirstDifference(above, row, 0); x >= 0; x = FirstDifference(above, row, x + 1))
                changes.Add((x0 + x) * imageHeight + y0 + y);
        }
        // After a column's last pixel comes padding below it, or the next column's top: the
        // padding of a column outside the crop, or a crop column already handled above.
        for (int x = 0; x < w; x++)
        {
            if (m[(h - 1) * w + x] == 0) continue;
            if (y0 + h < imageHeight) changes.Add((x0 + x) * imageHeight + y0 + h);
            else if (x0 + x + 1 < imageWidth && !(fullHeight && x + 1 < w)) changes.Add((x0 + x + 1) * imageHeight);
        }
        var sorted = changes.ToArray();
        Array.Sort(sorted);
        var counts = new int[sorted.Length + 1];
        int previous = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            counts[i] = sorted[i] - previous;
            previous = sorted[i];
        }
        counts[^1] = imageHeight * imageWidth - previous;
        return new Rle(imageHeight, imageWidth, counts);
    }

    /// <summary>The first index ≥ start where the rows differ, or −1.</summary>
    static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int start)
    {
        int i = start;
        if (Vector256.IsHardwareAccelerated)
        {
            ref byte ra = ref MemoryMarshal.GetReference(a);
            ref byte rb = ref MemoryMarshal.GetReference(b);
            for (; i <= a.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                uint differ = ~Vector256.Equals(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i)).ExtractMostSignificantBits();
                if (differ != 0) return i + BitOperations.TrailingZeroCount(differ);
            }
        }
        for (; i < a.Length; i++)
            if (a[i] != b[i]) return i;
        return -1;
    }

    /// <summary>The row-major h×w mask (rle_to_mask).</summary>
    public bool[] Decode()
    {
        var mask = new bool[Height * Width];
        long position = 0;
        bool value = false;
        foreach (int count in Counts)
        {
            if (value && count > 0)
            {
                // Down the columns from row position mod h of column position / h.
                int x = (int)(position / Height), y = (int)(position % Height);
                for (int i = 0; i < count; i++)
                {
                    mask[y * Width + x] = true;
                    if (++y == Height)
                    {
                        y = 0;
                        x++;
                    }
                }
            }
            position += count;
            value = !value;
        }
        return mask;
    }
}
