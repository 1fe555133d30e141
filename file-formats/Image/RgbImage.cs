namespace SamEngine.FileFormats;

/// <summary>An 8-bit RGB image, H×W×3 in row-major order (the layout of the official code's numpy images).</summary>
public sealed class RgbImage
{
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }

    public RgbImage(int height, int width, byte[] pixels)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size {height}×{width} is empty");
        if (pixels.Length != (long)height * width * 3)
            throw new ArgumentException($"{pixels.Length} bytes do not make a {height}×{width}×3 image");
        Height = height;
        Width = width;
        Pixels = pixels;
    }

    /// <summary>From a uint8 H×W×3 array, such as the fixtures' image_rgb.npy.</summary>
    public static RgbImage FromNpy(NpyArray array)
    {
        if (array.DType != NpyDType.UInt8 || array.Rank != 3 || array.Shape[2] != 3)
            throw new ArgumentException($"expected a uint8 H×W×3 array, got {array.DType.Descr()} {array.ShapeText}");
        return new RgbImage(array.Shape[0], array.Shape[1], (byte[])array.Data);
    }

    public NpyArray ToNpy() => new(Pixels, Height, Width, 3);
}
