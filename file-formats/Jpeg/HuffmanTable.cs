namespace SamEngine.FileFormats;

/// <summary>
/// A canonical Huffman code (T.81 Annex C) as a DHT segment defines it: how many codes of each
/// length 1–16, and the symbols in code order. Decoding uses a table of the next 9 bits for short
/// codes and the largest code of each length for the rest (F.2.2.3).
/// </summary>
sealed class HuffmanTable
{
    public const int LookBits = 9;

    readonly byte[] counts;
    readonly byte[] symbols;
    bool derived;
    /// <summary>(length &lt;&lt; 8) | symbol for every 9-bit prefix that starts a code of ≤ 9 bits; 0 otherwise.</summary>
    readonly ushort[] lookup = new ushort[1 << LookBits];
    /// <summary>Per length, the largest code of that length (−1: none), and the offset from a code to its symbol's index.</summary>
    readonly int[] maxCode = new int[17];
    readonly int[] valueOffset = new int[17];

    /// <param name="counts">Codes of lengths 1..16.</param>
    public HuffmanTable(byte[] counts, byte[] symbols)
    {
        if (counts.Length != 16 || symbols.Length != counts.Sum(c => c)) throw new ArgumentException("counts and symbols disagree");
        this.counts = counts;
        this.symbols = symbols;
    }

    public ReadOnlySpan<byte> Counts => counts;
    public ReadOnlySpan<byte> Symbols => symbols;

    /// <summary>
    /// Builds the decoding tables the first time a scan uses this table, and checks it as libjpeg does
    /// then: every code must fit its length without being all ones, and a DC table's symbols (the
    /// size of a difference) must be at most 15.
    /// </summary>
    public HuffmanTable ForScan(bool dc)
    {
        if (dc && symbols.Any(s => s > 15)) throw JpegException.Corrupt("a DC Huffman table has a symbol above 15");
        if (derived) return this;
        int code = 0, index = 0;
        for (int length = 1; length <= 16; length++)
        {
            int n = counts[length - 1];
            valueOffset[length] = index - code;
            for (int i = 0; i < n; i++, code++, index++)
            {
                if (length <= LookBits)
                {
                    int shift = LookBits - length;
                    for (int fill = 0; fill < 1 << shift; fill++)
                        lookup[(code << shift) | fill] = (ushort)((length << 8) | symbols[index]);
                }
            }
            maxCode[length] = n > 0 ? code - 1 : -1;
            if (code >= 1 << length) throw JpegException.Corrupt("a Huffman table has more codes than its lengths allow");
            code <<= 1;
        }
        derived = true;
        return this;
    }

    /// <summary>The symbol whose code starts the 16 bits given (MSB first), and the code's length; length 0 if none does.</summary>
    public int Decode(int next16, out int length)
    {
        int entry = lookup[next16 >> (16 - LookBits)];
        if (entry != 0)
        {
            length = entry >> 8;
            return entry & 0xFF;
        }
        for (int l = LookBits + 1; l <= 16; l++)
        {
            int code = next16 >> (16 - l);
            if (code <= maxCode[l])
            {
                length = l;
                return symbols[code + valueOffset[l]];
            }
        }
        length = 0;
        return 0;
    }

    /// <summary>
    /// The tables of T.81 Annex K.3, which libjpeg-turbo installs in slots 0 and 1 where a file
    /// defines none before its first scan (Motion-JPEG frames leave them out).
    /// </summary>
    public static class Standard
    {
        public static HuffmanTable DcLuminance() => new([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

        public static HuffmanTable DcChrominance() => new([0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

        public static HuffmanTable AcLuminance() => new([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
        [
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
            0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
            0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
            0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, .. Run(0x43, 0x4a), .. Run(0x53, 0x5a), .. Run(0x63, 0x6a),
            .. Run(0x73, 0x7a), .. Run(0x83, 0x8a), .. Run(0x92, 0x9a), .. Run(0xa2, 0xaa), .. Run(0xb2, 0xba), .. Run(0xc2, 0xca),
            .. Run(0xd2, 0xda), .. Run(0xe1, 0xea), .. Run(0xf1, 0xfa),
        ]);

        public static HuffmanTable AcChrominance() => new([0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
        [
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
            0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
            0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
            0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, .. Run(0x43, 0x4a), .. Run(0x53, 0x5a), .. Run(0x63, 0x6a),
            .. Run(0x73, 0x7a), .. Run(0x82, 0x8a), .. Run(0x92, 0x9a), .. Run(0xa2, 0xaa), .. Run(0xb2, 0xba), .. Run(0xc2, 0xca),
            .. Run(0xd2, 0xda), .. Run(0xe2, 0xea), .. Run(0xf2, 0xfa),
        ]);

        /// <summary>The symbols first..last: the tables' long tails are runs of consecutive (run, size) pairs.</summary>
        static byte[] Run(int first, int last) => Enumerable.Range(first, last - first + 1).Select(v => (byte)v).ToArray();
    }
}
