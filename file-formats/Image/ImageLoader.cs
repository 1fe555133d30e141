using SamEngine.Engine;
using StbImageSharp;

namespace SamEngine.FileFormats;

/// <summary>
/// Reads an image file to 8-bit RGB exactly as the official pipeline does: cv2.imread(path) then
/// BGR→RGB. JPEG goes through our own decoder (libjpeg-turbo's arithmetic, EXIF orientation and
/// CMYK as OpenCV converts it); PNG, BMP, GIF (first frame) and TGA through StbImageSharp, whose
/// output for PNG and BMP equals cv2's: grey replicated, alpha dropped without compositing,
/// 16-bit samples reduced to their high byte. Every failure is a one-line <see cref="SamException"/>.
/// </summary>
internal static class ImageLoader
{
    /// <summary>16384² pixels: far above any real photo, and its RGB buffer still fits one .NET array.</summary>
    public const long MaxPixels = 16384L * 16384L;

    /// <summary>1 GiB: an image file of 16384² pixels stays far below it in any format read here.</summary>
    public const long MaxFileBytes = 1L << 30;

    public static RgbImage Load(string path) => Decode(InputFile.ReadAllBytes(path, $"image {path}", MaxFileBytes), path);

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> names it in errors.</summary>
    public static RgbImage Decode(byte[] bytes, string name)
    {
        if (bytes.Length == 0) throw new SamException($"image {name}: file is empty");
        try
        {
            if (bytes is [0xFF, 0xD8, ..])
            {
                try { return JpegDecoder.Decode(bytes, MaxPixels); }
                catch (JpegException e) { throw new SamException($"image {name}: {e.Message}", e); }
            }
            return DecodeWithStb(bytes, name);
        }
        catch (OutOfMemoryException e)
        {
            throw new SamException($"image {name}: not enough memory to decode it", e);
        }
    }

    static RgbImage DecodeWithStb(byte[] bytes, string name)
    {
        // Read the header first, so that a file claiming a huge size is refused before anything is allocated for it.
        StbImage.stbi__g_failure_reason = null;
        ImageInfo? info;
        try { info = ImageInfo.FromStream(new MemoryStream(bytes, writable: false)); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SamException($"image {name}: unreadable image header{Reason(e.Message)}", e);
        }
        if (info is not { } header)
        {
            if (ImageHeader.PngClaimedSize(bytes) is var (w, h)) CheckSize(name, w, h);
            throw new SamException($"image {name}: not a supported image (JPEG, PNG, BMP, GIF, TGA) or a corrupt header{Reason()}");
        }
        CheckSize(name, header.Width, header.Height);
        if (ImageHeader.Problem(bytes) is { } problem) throw new SamException($"image {name}: {problem}");

        ImageResult result;
        try { result = ImageResult.FromMemory(bytes, ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SamException($"image {name}: corrupt image{Reason(e.Message)}", e);
        }
        if (result.Width != header.Width || result.Height != header.Height || result.Data.Length != (long)result.Width * result.Height * 3)
            throw new SamException($"image {name}: corrupt image (decoded {result.Width}×{result.Height}, header says {header.Width}×{header.Height})");
        return new RgbImage(result.Height, result.Width, result.Data);
    }

    static void CheckSize(string name, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new SamException($"image {name}: image has no pixels ({width}×{height})");
        if ((long)width * height > MaxPixels)
            throw new SamException($"image {name}: {TooLarge(width, height)}");
    }

    internal static string TooLarge(int width, int height) => $"{width}×{height} pixels exceeds the limit of {MaxPixels} pixels (16384×16384)";

    /// <summary>stb's failure reason, when it is a readable word (on some corrupt inputs it is not).</summary>
    static string Reason(string? reason = null)
    {
        reason ??= StbImage.stbi__g_failure_reason;
        return string.IsNullOrEmpty(reason) || !reason.All(c => c >= ' ' && c < 127) ? "" : $" ({reason})";
    }
}
