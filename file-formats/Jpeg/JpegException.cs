namespace SamEngine.FileFormats;

/// <summary>
/// A JPEG that cannot be decoded exactly as libjpeg-turbo decodes it: corrupt data, or a kind
/// libjpeg-turbo refuses too. The message reads as the second half of "image FILE: ...".
/// </summary>
sealed class JpegException(string message) : Exception(message)
{
    public static JpegException Corrupt(string what) => new($"corrupt JPEG ({what})");

    public static JpegException Unsupported(string what) => new($"unsupported JPEG ({what})");
}
