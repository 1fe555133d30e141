namespace SamEngine.Model;

/// <summary>Boxes around binary masks and the crop-edge test, as batched_mask_to_box and is_box_near_crop_edge.</summary>
internal static class MaskBoxes
{
    /// <summary>
    /// The box around the set pixels of a row-major h×w mask: (first column, first row, last
    /// column, last row), inclusive; (0, 0, 0, 0) for an empty mask.
    /// </summary>
    public static BoxXyxy FromMask(ReadOnlySpan<bool> mask, int height, int width)
    {
        if (mask.Length != height * width) throw new ArgumentException($"mask has {mask.Length} pixels, not {height}×{width}");
        int left = width, top = height, right = -1, bottom = -1;
        for (int y = 0; y < height; y++)
        {
            var row = mask.Slice(y * width, width);
            int first = row.IndexOf(true);
            if (first < 0) continue;
            int last = row.LastIndexOf(true);
            if (top == height) top = y;
            bottom = y;
            left = Math.Min(left, first);
            right = Math.Max(right, last);
        }
        return bottom < 0 ? default : new BoxXyxy(left, top, right, bottom);
    }

    /// <summary>
    /// Whether a mask box (in its crop's frame) comes within <paramref name="atol"/> pixels of an
    /// edge of the crop that is not also an edge of the image: such a mask is probably cut off
    /// by the crop, and a larger crop sees it whole.
    /// </summary>
    public static bool IsNearCropEdge(BoxXyxy box, BoxXyxy crop, BoxXyxy image, double atol = 20.0)
    {
        var b = box.Offset(crop.X0, crop.Y0);
        return NearCropEdge(b.X0, crop.X0, image.X0, atol) || NearCropEdge(b.Y0, crop.Y0, image.Y0, atol)
            || NearCropEdge(b.X1, crop.X1, image.X1, atol) || NearCropEdge(b.Y1, crop.Y1, image.Y1, atol);
    }

    static bool NearCropEdge(int coordinate, int cropEdge, int imageEdge, double atol) =>
        Math.Abs(coordinate - cropEdge) <= atol && !(Math.Abs(coordinate - imageEdge) <= atol);
}
