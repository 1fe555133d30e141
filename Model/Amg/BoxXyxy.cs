namespace SamEngine;

/// <summary>
/// An integer box (x0, y0, x1, y1). Crop boxes use it with x1, y1 exclusive (the crop is
/// image[y0:y1, x0:x1]); mask boxes, as the reference computes them, with x1, y1 the last
/// column and row that hold a pixel, so a one-pixel mask has width 0.
/// </summary>
/// <param name="X0">Left column.</param>
/// <param name="Y0">Top row.</param>
/// <param name="X1">Right column (exclusive for crops).</param>
/// <param name="Y1">Bottom row (exclusive for crops).</param>
public readonly record struct BoxXyxy(int X0, int Y0, int X1, int Y1)
{
    /// <summary>X1 − X0.</summary>
    public int Width => X1 - X0;
    /// <summary>Y1 − Y0.</summary>
    public int Height => Y1 - Y0;
    /// <summary>Width × height.</summary>
    public long Area => (long)Width * Height;

    /// <summary>The record form (x, y, w, h) the reference writes for bbox and crop_box.</summary>
    public (int X, int Y, int W, int H) ToXywh() => (X0, Y0, X1 - X0, Y1 - Y0);

    /// <summary>Moves a box from a crop's frame to the image's (uncrop_boxes_xyxy).</summary>
    internal BoxXyxy Offset(int dx, int dy) => new(X0 + dx, Y0 + dy, X1 + dx, Y1 + dy);

    /// <inheritdoc/>
    public override string ToString() => $"[{X0}, {Y0}, {X1}, {Y1}]";
}
