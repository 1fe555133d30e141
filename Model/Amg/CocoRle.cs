using System.Text;

namespace SamEngine.Model;

/// <summary>
/// COCO's compressed RLE string (pycocotools' rleToString / rleFrString): each run length,
/// from the fourth on as the difference from the run two before it (runs of the same value
/// change slowly), written as a signed little-endian base-32 number, five bits per character:
/// bit 5 says another character follows, bit 4 of the last one is the sign, and each
/// character is offset by 48 to stay printable.
/// </summary>
internal static class CocoRle
{
    public static string Encode(IReadOnlyList<int> counts)
    {
        var s = new StringBuilder(counts.Count * 2);
        for (int i = 0; i < counts.Count; i++)
        {
            long x = counts[i];
            if (i > 2) x -= counts[i - 2];
            bool more = true;
            while (more)
            {
                int c = (int)(x & 0x1f);
                x >>= 5;
                // Stop once the remaining bits are all copies of the sign bit just written.
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                s.Append((char)(c + 48));
            }
        }
        return s.ToString();
    }

    public static int[] Decode(string s)
    {
        var counts = new List<int>();
        int p = 0;
        while (p < s.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= s.Length) throw new FormatException($"COCO RLE string ends inside a number at character {p}");
                int c = s[p] - 48;
                if (c < 0 || c > 0x3f) throw new FormatException($"COCO RLE string has '{s[p]}' at character {p}");
                if (k > 12) throw new FormatException($"COCO RLE string has a number too long at character {p}");
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (counts.Count > 2) x += counts[^2];
            if (x < 0 || x > int.MaxValue) throw new FormatException($"COCO RLE string decodes to run length {x}");
            counts.Add((int)x);
        }
        return counts.ToArray();
    }
}
