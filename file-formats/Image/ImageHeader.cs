using System.Buffers.Binary;

namespace SamEngine.FileFormats;

/// <summary>
/// What stb does not tell: the size a PNG or JPEG header claims (stb's header reader gives up on
/// sizes whose pixel buffer would pass 1 GiB without saying why), and whether a JPEG is complete
/// (stb decodes a truncated one, filling the missing part, where PIL refuses it).
/// </summary>
static class ImageHeader
{
    public static (int Width, int Height)? ClaimedSize(ReadOnlySpan<byte> b)
    {
        ReadOnlySpan<byte> png = [137, 80, 78, 71, 13, 10, 26, 10];
        if (b.Length >= 24 && b[..8].SequenceEqual(png) && b[12..16].SequenceEqual("IHDR"u8))
            return ((int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[16..]), int.MaxValue),
                    (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(b[20..]), int.MaxValue));
        if (IsJpeg(b))
            return JpegFrameSize(b);
        return null;
    }

    /// <summary>Walks the JPEG segments up to the first start-of-frame marker, which holds height and width.</summary>
    static (int, int)? JpegFrameSize(ReadOnlySpan<byte> b)
    {
        int pos = 2;
        while (pos + 4 <= b.Length)
        {
            if (b[pos] != 0xFF) return null;
            byte marker = b[pos + 1];
            if (marker == 0xFF) { pos++; continue; }                       // fill byte
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { pos += 2; continue; } // no length field
            int length = BinaryPrimitives.ReadUInt16BigEndian(b[(pos + 2)..]);
            bool startOfFrame = marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);
            if (startOfFrame)
            {
                if (pos + 9 > b.Length) return null;
                int height = BinaryPrimitives.ReadUInt16BigEndian(b[(pos + 5)..]);
                int width = BinaryPrimitives.ReadUInt16BigEndian(b[(pos + 7)..]);
                return (width, height);
            }
            pos += 2 + length;
        }
        return null;
    }

    public static bool IsJpeg(ReadOnlySpan<byte> b) => b.Length >= 2 && b[0] == 0xFF && b[1] == 0xD8;

    /// <summary>
    /// Walks the JPEG's segments and the entropy-coded data after each start-of-scan until the
    /// end-of-image marker; false if the data ends first.
    /// </summary>
    public static bool JpegIsComplete(ReadOnlySpan<byte> b)
    {
        int pos = 2;
        while (pos + 2 <= b.Length)
        {
            if (b[pos] != 0xFF) return false;
            byte marker = b[pos + 1];
            if (marker == 0xFF) { pos++; continue; }
            if (marker == 0xD9) return true;
            if (marker is 0x01 or (>= 0xD0 and <= 0xD7)) { pos += 2; continue; }
            if (pos + 4 > b.Length) return false;
            pos += 2 + BinaryPrimitives.ReadUInt16BigEndian(b[(pos + 2)..]);
            if (marker != 0xDA) continue;
            // Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte), a restart marker or
            // fill; anything else is the next marker.
            while (true)
            {
                if (pos >= b.Length) return false;
                int ff = b[pos..].IndexOf((byte)0xFF);
                if (ff < 0 || pos + ff + 1 >= b.Length) return false;
                pos += ff;
                byte next = b[pos + 1];
                if (next == 0x00 || next is >= 0xD0 and <= 0xD7) pos += 2;
                else if (next == 0xFF) pos++;
                else break;
            }
        }
        return false;
    }
}
