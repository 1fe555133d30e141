namespace SamEngine.FileFormats;

/// <summary>
/// The EXIF orientation tag as cv2.imread finds and applies it: OpenCV reads the first APP1
/// segment of a JPEG as a TIFF header (after 6 bytes, "Exif\0\0" or not), walks IFD0's entries
/// in order and keeps the first orientation entry it meets; an entry it cannot read ends the
/// walk, keeping what came before. Values 2–8 flip and transpose; anything else changes nothing.
/// </summary>
static class ExifOrientation
{
    const int Orientation = 0x0112;

    public static int FromJpegApp1(ReadOnlySpan<byte> app1) => app1.Length > 6 ? FromTiff(app1[6..]) : 1;

    static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        bool intel = tiff.Length > 1 ? tiff[0] == 'I' && tiff[1] == 'I' : tiff.Length == 1 && tiff[0] == 'I';
        try
        {
            if (U16(tiff, 2, intel) != 0x2A) return 1;
            long offset = U32(tiff, 4, intel);
            int entries = U16(tiff, offset, intel);
            offset += 2;
            for (int i = 0; i < entries; i++, offset += 12)
            {
                int tag = U16(tiff, offset, intel);
                if (tag == Orientation) return U16(tiff, offset + 8, intel);
                CheckReadable(tiff, offset, tag, intel);
            }
        }
        catch (IndexOutOfRangeException) { }
        return 1;
    }

    /// <summary>Reads what OpenCV reads for the tags it knows, so that an entry it cannot read stops the walk here too.</summary>
    static void CheckReadable(ReadOnlySpan<byte> tiff, long offset, int tag, bool intel)
    {
        switch (tag)
        {
            case 0x010E or 0x010F or 0x0110 or 0x0131 or 0x0132 or 0x8298: // strings
            {
                long size = U32(tiff, offset + 4, intel);
                long at = size > 4 ? U32(tiff, offset + 8, intel) : 8;
                if (at > tiff.Length || at + size > tiff.Length) throw new IndexOutOfRangeException();
                break;
            }
            case 0x011A or 0x011B: Rationals(tiff, offset, 1, intel); break;
            case 0x013E: Rationals(tiff, offset, 2, intel); break;
            case 0x013F or 0x0214: Rationals(tiff, offset, 6, intel); break;
            case 0x0211: Rationals(tiff, offset, 3, intel); break;
            case 0x0128 or 0x0213: U16(tiff, offset + 8, intel); break;
        }
    }

    static void Rationals(ReadOnlySpan<byte> tiff, long offset, int count, bool intel)
    {
        long at = U32(tiff, offset + 8, intel);
        for (int i = 0; i < count; i++) U32(tiff, at + 8 * i + 4, intel);
    }

    static int U16(ReadOnlySpan<byte> d, long at, bool intel)
    {
        if (at < 0 || at + 1 >= d.Length) throw new IndexOutOfRangeException();
        int i = (int)at;
        return intel ? d[i] | d[i + 1] << 8 : d[i] << 8 | d[i + 1];
    }

    static long U32(ReadOnlySpan<byte> d, long at, bool intel)
    {
        if (at < 0 || at + 3 >= d.Length) throw new IndexOutOfRangeException();
        int i = (int)at;
        return intel ? (uint)(d[i] | d[i + 1] << 8 | d[i + 2] << 16 | d[i + 3] << 24) : (uint)(d[i] << 24 | d[i + 1] << 16 | d[i + 2] << 8 | d[i + 3]);
    }

    /// <summary>
    /// The image as cv2 shows it: 2 mirrors left–right, 3 turns 180°, 4 mirrors top–bottom, 5
    /// transposes, 6 turns 90° clockwise, 7 transposes across the other diagonal, 8 turns 90° anticlockwise.
    /// </summary>
    public static RgbImage Apply(RgbImage image, int orientation)
    {
        if (orientation is < 2 or > 8) return image;
        int h = image.Height, w = image.Width;
        bool transposed = orientation >= 5;
        int oh = transposed ? w : h, ow = transposed ? h : w;
        var src = image.Pixels;
        var dst = new byte[src.Length];
        for (int r = 0; r < oh; r++)
            for (int c = 0; c < ow; c++)
            {
                var (sr, sc) = orientation switch
                {
                    2 => (r, w - 1 - c),
                    3 => (h - 1 - r, w - 1 - c),
                    4 => (h - 1 - r, c),
                    5 => (c, r),
                    6 => (h - 1 - c, r),
                    7 => (h - 1 - c, w - 1 - r),
                    _ => (c, w - 1 - r),
                };
                int s = (sr * w + sc) * 3, d = (r * ow + c) * 3;
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        return new RgbImage(oh, ow, dst);
    }
}
