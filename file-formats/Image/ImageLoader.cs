using SamEngine.Engine;
using StbImageSharp;

namespace SamEngine.FileFormats;

/// <summary>
/// Decodes JPEG, PNG, BMP, GIF (first frame) and TGA files to 8-bit RGB with StbImageSharp.
/// Grey is replicated to R=G=B and alpha is dropped without compositing, which is what the
/// official pipeline's PIL <c>Image.open(path).convert("RGB")</c> does. Differences from PIL that
/// remain: JPEG pixels differ by a few levels (stb's IDCT and upsampling are not libjpeg's),
/// 16-bit PNGs are reduced by taking the high byte (PIL clips 16-bit grey at 255), and EXIF
/// orientation is ignored, as PIL ignores it without ImageOps.exif_transpose.
/// </summary>
public static class ImageLoader
{
    /// <summary>16384² pixels: far above any real photo, and its RGB buffer still fits one .NET array.</summary>
    public const long MaxPixels = 16384L * 16384L;

    public static RgbImage Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SamException($"image {path}: file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SamException($"image {path}: cannot read ({e.Message})", e);
        }
        return Decode(bytes, path);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> names it in errors.</summary>
    public static RgbImage Decode(byte[] bytes, string name)
    {
        if (bytes.Length == 0) throw new SamException($"image {name}: file is empty");

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
            if (ImageHeader.ClaimedSize(bytes) is var (w, h)) CheckSize(name, w, h);
            throw new SamException($"image {name}: not a supported image (JPEG, PNG, BMP, GIF, TGA) or a corrupt header{Reason()}");
        }
        CheckSize(name, header.Width, header.Height);

        if (ImageHeader.IsJpeg(bytes) && !ImageHeader.JpegIsComplete(bytes))
            throw new SamException($"image {name}: corrupt image (truncated JPEG: the data ends before the end-of-image marker)");

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
            throw new SamException($"image {name}: {width}×{height} pixels exceeds the limit of {MaxPixels} pixels (16384×16384)");
    }

    /// <summary>stb's failure reason, when it is a readable word (on some corrupt inputs it is not).</summary>
    static string Reason(string? reason = null)
    {
        reason ??= StbImage.stbi__g_failure_reason;
        return string.IsNullOrEmpty(reason) || !reason.All(c => c >= ' ' && c < 127) ? "" : $" ({reason})";
    }
}
