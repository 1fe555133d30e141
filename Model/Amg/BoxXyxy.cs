namespace SamEngine.Model;

/// <summary>
/// An integer box (x0, y0, x1, y1). Crop boxes use it with x1, y1 exclusive (the crop is
/// image[y0:y1, x0:x1]); mask boxes, as the reference computes them, with x1, y1 the last
/// column and row that hold a pixel, so a one-pixel mask has width 0.
/// </summary>
public readonly record struct BoxXyxy(int X0, int Y0, int X1, int Y1)
{
    public int Width => X1 - X0;
    public int Height => Y1 - Y0;
    public long Area => (long)Width * Height;

    /// <summary>The record form (x, y, w, h) the reference writes for bbox and crop_box.</summary>
    public (int X, int Y, int W, int H) ToXywh() => (X0, Y0, X1 - X0, Y1 - Y0);

    /// <summary>Moves a box from a crop's frame to the image's (uncrop_boxes_xyxy).</summary>
    public BoxXyxy Offset(int dx, int dy) => new(X0 + dx, Y0 + dy, X1 + dx, Y1 + dy);

    public override string ToString() => $"[{X0}, {Y0}, {X1}, {Y1}]";
}
