namespace SamEngine.Model;

/// <summary>
/// The crops of automatic mask generation: the whole image (layer 0), then for layer i ≥ 1 a
/// 2^i × 2^i grid of overlapping crops. Integer arithmetic as the reference's
/// generate_crop_boxes (truncations and ceilings at the same places), so crop boxes match it.
/// </summary>
internal static class CropBoxes
{
    public static IReadOnlyList<(BoxXyxy Box, int Layer)> Generate(int imageHeight, int imageWidth, int nLayers, double overlapRatio)
    {
        if (imageHeight < 1 || imageWidth < 1) throw new ArgumentException($"image size {imageHeight}×{imageWidth} is empty");
        if (nLayers < 0) throw new ArgumentException($"crop layers must be >= 0, got {nLayers}");
        var crops = new List<(BoxXyxy, int)> { (new BoxXyxy(0, 0, imageWidth, imageHeight), 0) };
        int shortSide = Math.Min(imageHeight, imageWidth);
        for (int layer = 1; layer <= nLayers; layer++)
        {
            int nPerSide = 1 << layer;
            // Python: int(overlap_ratio * short_side * (2 / n_crops_per_side)), same operation order.
            int overlap = (int)(overlapRatio * shortSide * (2.0 / nPerSide));
            int cropW = CropLength(imageWidth, nPerSide, overlap);
            int cropH = CropLength(imageHeight, nPerSide, overlap);
            // x outer, y inner: itertools.product(crop_box_x0, crop_box_y0).
            for (int i = 0; i < nPerSide; i++)
            {
                int x0 = (cropW - overlap) * i;
                for (int j = 0; j < nPerSide; j++)
                {
                    int y0 = (cropH - overlap) * j;
                    crops.Add((new BoxXyxy(x0, y0, Math.Min(x0 + cropW, imageWidth), Math.Min(y0 + cropH, imageHeight)), layer));
                }
            }
        }
        return crops;
    }

    /// <summary>ceil((overlap·(n − 1) + length) / n): n crops of this length with this overlap cover the side.</summary>
    static int CropLength(int length, int nCrops, int overlap) =>
        (int)Math.Ceiling((double)((long)overlap * (nCrops - 1) + length) / nCrops);
}
