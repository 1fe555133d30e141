using SamEngine.FileFormats;

namespace SamEngine;

/// <summary>
/// An 8-bit RGB image, H×W×3 in row-major order (the layout of the official code's numpy images).
/// <see cref="Load"/> and <see cref="Decode(byte[])"/> read files exactly as the official
/// pipeline does (cv2.imread, then BGR→RGB): JPEG, PNG, BMP, GIF, TGA, with EXIF orientation applied.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Rows.</summary>
    public int Height { get; }
    /// <summary>Columns.</summary>
    public int Width { get; }
    /// <summary>H×W×3 bytes: R, G, B of each pixel, row by row.</summary>
    public byte[] Pixels { get; }

    /// <summary>An image of existing pixels (not copied).</summary>
    /// <param name="height">Rows.</param>
    /// <param name="width">Columns.</param>
    /// <param name="pixels">H×W×3 bytes: R, G, B of each pixel, row by row.</param>
    /// <exception cref="ArgumentException">The sizes are empty, or the buffer is not H×W×3 bytes.</exception>
    public RgbImage(int height, int width, byte[] pixels)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size {height}×{width} is empty");
        if (pixels.Length != (long)height * width * 3)
            throw new ArgumentException($"{pixels.Length} bytes do not make a {height}×{width}×3 image");
        Height = height;
        Width = width;
        Pixels = pixels;
    }

    /// <summary>Reads an image file.</summary>
    /// <exception cref="SamException">The file is missing, not an image, corrupt, or over 16384² pixels; the message names the file.</exception>
    public static RgbImage Load(string path) => ImageLoader.Load(path);

    /// <summary>Decodes an image file's bytes.</summary>
    /// <exception cref="SamException">The bytes are not a supported image, corrupt, or over 16384² pixels.</exception>
    public static RgbImage Decode(byte[] bytes) => ImageLoader.Decode(bytes, "bytes");

    /// <summary>Decodes an image file read from a stream (to its end, at most 1 GiB).</summary>
    /// <exception cref="SamException">The stream holds more than 1 GiB, or not a supported image.</exception>
    public static RgbImage Decode(Stream stream) => Decode(ReadBounded(stream));

    /// <summary>Reads a stream to its end, asynchronously, then decodes the image.</summary>
    /// <exception cref="SamException">The stream holds more than 1 GiB, or not a supported image.</exception>
    public static async Task<RgbImage> DecodeAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > ImageLoader.MaxFileBytes) throw TooLarge();
            buffer.Write(chunk, 0, n);
        }
        return ImageLoader.Decode(buffer.ToArray(), "stream");
    }

    static byte[] ReadBounded(Stream stream)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + n > ImageLoader.MaxFileBytes) throw TooLarge();
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    static SamException TooLarge() => new($"image stream: more than {ImageLoader.MaxFileBytes >> 30} GiB, larger than any image this reads");

    /// <summary>From a uint8 H×W×3 array, such as the fixtures' image_rgb.npy.</summary>
    internal static RgbImage FromNpy(NpyArray array)
    {
        if (array.DType != NpyDType.UInt8 || array.Rank != 3 || array.Shape[2] != 3)
            throw new ArgumentException($"expected a uint8 H×W×3 array, got {array.DType.Descr()} {array.ShapeText}");
        return new RgbImage(array.Shape[0], array.Shape[1], (byte[])array.Data);
    }

    internal NpyArray ToNpy() => new(Pixels, Height, Width, 3);
}
