using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SamEngine;

/// <summary>
/// An uncompressed run-length encoding of a binary mask, the format of the reference's
/// mask_to_rle_pytorch and COCO's "uncompressed RLE": pixels in column-major order (down each
/// column, columns left to right), run lengths alternating 0s and 1s and starting with 0s (a
/// leading 0 when the first pixel is set). Size is (height, width) as COCO writes it.
/// </summary>
public sealed class Rle
{
    /// <summary>The mask's height.</summary>
    public int Height { get; }
    /// <summary>The mask's width.</summary>
    public int Width { get; }
    /// <summary>Run lengths down the columns, alternating unset and set, starting with unset.</summary>
    public int[] Counts { get; }

    /// <summary>An RLE of an H×W mask.</summary>
    /// <exception cref="ArgumentException">A run is negative, or the runs do not add up to H×W.</exception>
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
    internal static Rle EncodeUncropped(ReadOnlySpan<bool> cropMask, BoxXyxy crop, int imageHeight, int imageWidth)
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
    /// Each column's changes are found top to bottom, so a counting sort by column orders them.
    /// </summary>
    static Rle EncodePlaced(ReadOnlySpan<bool> mask, int h, int w, int x0, int y0, int imageHeight, int imageWidth)
    {
        if (mask.Length != h * w) throw new ArgumentException($"mask has {mask.Length} pixels, not {h}×{w}");
        var m = MemoryMarshal.AsBytes(mask);
        using var changes = new Changes(imageHeight, x0, w);
        // A column's first pixel follows the previous column's last one only when the crop spans
        // the image's height and that column is in the crop; otherwise it follows padding (0).
        bool fullHeight = y0 == 0 && h == imageHeight;
        // After a column's last pixel comes padding below it, or the next column's top: the
        // padding of a column outside the crop, or a crop column handled below. That top is row 0
        // of its column, found first; the padding below a column, row y0 + h, comes last.
        bool reachesBottom = y0 + h >= imageHeight;
        if (reachesBottom)
            for (int x = 0; x < w; x++)
                if (m[(h - 1) * w + x] != 0 && x0 + x + 1 < imageWidth && !(fullHeight && x + 1 < w)) changes.Add(x + 1, 0);
        for (int x = 0; x < w; x++)
        {
            bool before = fullHeight && x > 0 && m[(h - 1) * w + x - 1] != 0;
            if ((m[x] != 0) != before) changes.Add(x, y0);
        }
        for (int y = 1; y < h; y++) changes.AddDifferences(m.Slice((y - 1) * w, w), m.Slice(y * w, w), y0 + y);
        if (!reachesBottom)
            for (int x = 0; x < w; x++)
                if (m[(h - 1) * w + x] != 0) changes.Add(x, y0 + h);
        var counts = changes.RunLengths(imageHeight * imageWidth);
        return new Rle(imageHeight, imageWidth, counts);
    }

    /// <summary>
    /// Change positions (column-major pixel indices of the image) with their crop column 0..w,
    /// each column's in order; buffers from the shared pool, as a mask with fine stripes has
    /// ~10⁵ changes and AMG encodes thousands of masks.
    /// </summary>
    sealed class Changes(int imageHeight, int x0, int w) : IDisposable
    {
        readonly int[] perColumn = new int[w + 2];
        int[] positions = ArrayPool<int>.Shared.Rent(4 * w + 16), columns = ArrayPool<int>.Shared.Rent(4 * w + 16);
        int count;

        public void Add(int x, int imageRow)
        {
            if (count == positions.Length) Grow(ref positions);
            if (count == columns.Length) Grow(ref columns);
            positions[count] = (x0 + x) * imageHeight + imageRow;
            columns[count++] = x;
            perColumn[x + 1]++;
        }

        void Grow(ref int[] buffer)
        {
            var larger = ArrayPool<int>.Shared.Rent(2 * buffer.Length);
            buffer.AsSpan(0, count).CopyTo(larger);
            ArrayPool<int>.Shared.Return(buffer);
            buffer = larger;
        }

        /// <summary>Adds the columns where a row differs from the one above, 32 pixels per comparison.</summary>
        public void AddDifferences(ReadOnlySpan<byte> above, ReadOnlySpan<byte> row, int imageRow)
        {
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                ref byte ra = ref MemoryMarshal.GetReference(above);
                ref byte rb = ref MemoryMarshal.GetReference(row);
                for (; i <= row.Length - Vector256<byte>.Count; i += Vector256<byte>.Count)
                {
                    uint differ = ~Vector256.Equals(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i)).ExtractMostSignificantBits();
                    for (; differ != 0; differ &= differ - 1) Add(i + BitOperations.TrailingZeroCount(differ), imageRow);
                }
            }
            for (; i < row.Length; i++)
                if (above[i] != row[i]) Add(i, imageRow);
        }

        /// <summary>The runs between the changes, put in column-major order by a counting sort on their columns.</summary>
        public int[] RunLengths(int pixels)
        {
            for (int x = 1; x < perColumn.Length; x++) perColumn[x] += perColumn[x - 1];
            var sorted = ArrayPool<int>.Shared.Rent(count);
            for (int i = 0; i < count; i++) sorted[perColumn[columns[i]]++] = positions[i];
            var counts = new int[count + 1];
            int previous = 0;
            for (int i = 0; i < count; i++)
            {
                counts[i] = sorted[i] - previous;
                previous = sorted[i];
            }
            counts[^1] = pixels - previous;
            ArrayPool<int>.Shared.Return(sorted);
            return counts;
        }

        public void Dispose()
        {
            ArrayPool<int>.Shared.Return(positions);
            ArrayPool<int>.Shared.Return(columns);
        }
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
