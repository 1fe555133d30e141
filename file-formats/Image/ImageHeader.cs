using System.Buffers.Binary;

namespace SamEngine.FileFormats;

/// <summary>
/// What stb does not tell: the size a PNG header claims (stb's header reader gives up on sizes
/// whose pixel buffer would pass 1 GiB without saying why).
/// </summary>
static class ImageHeader
{
    public static (int Width, int Height)? PngClaimedSize(ReadOnlySpan<byte> b)
    {
        ReadOnlySpan<byte> png = [137, 80, 78, 71, 13, 10, 26, 10];
        if (b.Length >= 24 && b[..8].SequenceEqual(png) && b[12..16].SequenceEqual("IHDR"u8))
            return ((int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[16..]), int.MaxValue),
                    (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[20..]), int.MaxValue));
        return null;
    }
}
