using System.Buffers.Binary;

namespace SamEngine.FileFormats;

/// <summary>
/// What stb does not check before it allocates or decodes, checked here first: the size a PNG
/// header claims (stb's header reader gives up on sizes whose pixel buffer would pass 1 GiB
/// without saying why), PNG chunks that claim more bytes than the file has (stb sizes its buffer
/// by the claim), and BMP and TGA pixel data that the file is too short to hold (stb reads zeros
/// past the end and calls it an image).
/// </summary>
static class ImageHeader
{
    static ReadOnlySpan<byte> PngSignature => [137, 80, 78, 71, 13, 10, 26, 10];

    public static (int Width, int Height)? PngClaimedSize(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 24 && b[..8].SequenceEqual(PngSignature) && b[12..16].SequenceEqual("IHDR"u8))
            return ((int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[16..]), int.MaxValue),
                    (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[20..]), int.MaxValue));
        return null;
    }

    /// <summary>Why stb must not be given these bytes (null if it may): a structure that claims more data than the file holds.</summary>
    public static string? Problem(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 8 && b[..8].SequenceEqual(PngSignature)) return PngProblem(b);
        if (b.Length >= 2 && b[0] == 'B' && b[1] == 'M') return BmpProblem(b);
        if (b.Length >= 6 && (b[..6].SequenceEqual("GIF87a"u8) || b[..6].SequenceEqual("GIF89a"u8))) return null;
        return b.Length >= 18 ? TgaProblem(b) : null;
    }

    /// <summary>
    /// Every chunk up to IEND must lie within the file, and a critical one (upper-case first
    /// letter: IHDR, PLTE, IDAT, IEND) must match its CRC, as libpng (cv2's decoder) requires;
    /// stb checks neither.
    /// </summary>
    static string? PngProblem(ReadOnlySpan<byte> b)
    {
        int pos = 8;
        while (pos + 8 <= b.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(b[pos..]);
            var type = System.Text.Encoding.ASCII.GetString(b.Slice(pos + 4, 4));
            if (pos + 12 + length > b.Length)
                return $"corrupt PNG (chunk {Printable(type)} claims {length} bytes, the file has {Math.Max(0, b.Length - pos - 12)} left)";
            if (char.IsAsciiLetterUpper(type[0]) && Crc32.Compute(b.Slice(pos + 4, 4 + (int)length)) != BinaryPrimitives.ReadUInt32BigEndian(b[(pos + 8 + (int)length)..]))
                return $"corrupt PNG (chunk {Printable(type)} fails its CRC check)";
            pos += 12 + (int)length;
            if (type == "IEND") return null;
        }
        return "corrupt PNG (the file ends before its IEND chunk)";
    }

    /// <summary>Uncompressed pixel rows (padded to 4 bytes) from the data offset must lie within the file.</summary>
    static string? BmpProblem(ReadOnlySpan<byte> b)
    {
        if (b.Length < 26) return "corrupt BMP (truncated header)";
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(b[10..]);
        long headerSize = BinaryPrimitives.ReadUInt32LittleEndian(b[14..]);
        long width, height, bpp, compression = 0;
        if (headerSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(b[18..]);
            height = BinaryPrimitives.ReadInt16LittleEndian(b[20..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(b[24..]);
        }
        else
        {
            if (b.Length < 34) return "corrupt BMP (truncated header)";
            width = BinaryPrimitives.ReadInt32LittleEndian(b[18..]);
            height = BinaryPrimitives.ReadInt32LittleEndian(b[22..]);
            bpp = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
            compression = BinaryPrimitives.ReadUInt32LittleEndian(b[30..]);
        }
        if (compression is not (0 or 3 or 6) || width <= 0 || bpp is 0 or > 32) return null; // stb refuses these itself
        long rowBytes = (width * bpp + 31) / 32 * 4;
        long needed = offset + rowBytes * Math.Abs(height);
        return needed > b.Length ? $"corrupt BMP ({width}×{Math.Abs(height)} pixels of {bpp} bits need {needed} bytes, the file has {b.Length})" : null;
    }

    /// <summary>A TGA's pixel data (raw, or at best 128 pixels a run-length packet) must fit in the file.</summary>
    static string? TgaProblem(ReadOnlySpan<byte> b)
    {
        int idLength = b[0], colorMapType = b[1], imageType = b[2];
        if (colorMapType > 1 || imageType is not (1 or 2 or 3 or 9 or 10 or 11)) return null; // not a TGA stb would take
        long mapLength = BinaryPrimitives.ReadUInt16LittleEndian(b[5..]), mapEntryBits = b[7];
        long width = BinaryPrimitives.ReadUInt16LittleEndian(b[12..]), height = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]), bits = b[16];
        long pixelBytes = Math.Max(1, (bits + 7) / 8), pixels = width * height;
        long offset = 18 + idLength + (colorMapType == 1 ? mapLength * ((mapEntryBits + 7) / 8) : 0);
        long needed = offset + (imageType >= 9 ? (pixels + 127) / 128 * (1 + pixelBytes) : pixels * pixelBytes);
        return needed > b.Length ? $"corrupt TGA ({width}×{height} pixels need at least {needed} bytes, the file has {b.Length})" : null;
    }

    static string Printable(string s) => string.Concat(s.Select(c => c is >= ' ' and < (char)127 ? c : '?'));
}
