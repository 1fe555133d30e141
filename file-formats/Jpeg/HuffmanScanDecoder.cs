namespace SamEngine.FileFormats;

/// <summary>
/// Huffman-coded scans (T.81 F.2.2 sequential, G.1.2 progressive): DC differences and AC run/size
/// symbols, or for progressive scans one band of coefficients, first pass or refinement bits.
/// Where libjpeg warns and goes on with made-up data (a code no table has, a coefficient past the
/// block's end, data that ends before the last block) this refuses the file.
/// </summary>
sealed class HuffmanScanDecoder : ScanDecoder
{
    readonly HuffmanTable[] dcTables, acTables;
    readonly int[] lastDc;
    readonly bool progressive;
    int eobRun;

    // The next bits, most significant first; zeroBits of them (the last) are zeros supplied after the data ended.
    ulong buffer;
    int bits, zeroBits;

    public HuffmanScanDecoder(EntropyData data, JpegFrame frame, JpegScan scan, HuffmanTable?[] dc, HuffmanTable?[] ac)
        : base(data, frame, scan)
    {
        progressive = frame.Progressive;
        int n = scan.Components.Length;
        dcTables = new HuffmanTable[n];
        acTables = new HuffmanTable[n];
        lastDc = new int[n];
        for (int i = 0; i < n; i++)
        {
            var c = scan.Components[i];
            bool needDc = !progressive || (scan.IsDc && !scan.IsRefinement), needAc = !progressive || !scan.IsDc;
            if (needDc) dcTables[i] = Table(dc, c.DcTable, "DC").ForScan(dc: true);
            if (needAc) acTables[i] = Table(ac, c.AcTable, "AC").ForScan(dc: false);
        }
    }

    static HuffmanTable Table(HuffmanTable?[] tables, int id, string kind) =>
        (id < tables.Length ? tables[id] : null) ?? throw JpegException.Corrupt($"a scan uses {kind} Huffman table {id}, which is not defined");

    protected override void Reset()
    {
        Array.Clear(lastDc);
        eobRun = 0;
    }

    protected override void EndInterval()
    {
        buffer = 0;
        bits = zeroBits = 0;
    }

    protected override void DecodeBlock(int slot, Span<short> block)
    {
        if (!progressive) Sequential(slot, block);
        else if (Scan.IsDc)
        {
            if (!Scan.IsRefinement) DcFirst(slot, block);
            else if (Bits(1) != 0) block[0] |= (short)(1 << Scan.Al);
        }
        else if (!Scan.IsRefinement) AcFirst(block);
        else AcRefine(block);
        if (zeroBits > bits) throw JpegException.Corrupt("the scan's data ends before its last block");
    }

    void Sequential(int slot, Span<short> block)
    {
        int s = Symbol(dcTables[slot]);
        lastDc[slot] += s == 0 ? 0 : Extend(Bits(s), s);
        block[0] = (short)lastDc[slot];
        var ac = acTables[slot];
        for (int k = 1; k < 64; k++)
        {
            int rs = Symbol(ac);
            int run = rs >> 4, size = rs & 15;
            if (size == 0)
            {
                if (run != 15) break;
                k += 15;
                continue;
            }
            k += run;
            if (k > 63) throw JpegException.Corrupt("a block has more than 64 coefficients");
            block[ZigZag[k]] = (short)Extend(Bits(size), size);
        }
    }

    void DcFirst(int slot, Span<short> block)
    {
        int s = Symbol(dcTables[slot]);
        long dc = (long)lastDc[slot] + (s == 0 ? 0 : Extend(Bits(s), s));
        if (dc != (int)dc) throw JpegException.Corrupt("a DC coefficient overflows");
        lastDc[slot] = (int)dc;
        block[0] = (short)(lastDc[slot] << Scan.Al);
    }

    void AcFirst(Span<short> block)
    {
        if (eobRun > 0)
        {
            eobRun--;
            return;
        }
        var ac = acTables[0];
        for (int k = Scan.Ss; k <= Scan.Se; k++)
        {
            int rs = Symbol(ac);
            int run = rs >> 4, size = rs & 15;
            if (size == 0)
            {
                if (run == 15)
                {
                    k += 15;
                    continue;
                }
                eobRun = (1 << run) - 1 + (run > 0 ? Bits(run) : 0);
                break;
            }
            k += run;
            if (k > Scan.Se) throw JpegException.Corrupt("a coefficient lies outside its scan's band");
            block[ZigZag[k]] = (short)(Extend(Bits(size), size) << Scan.Al);
        }
    }

    /// <summary>
    /// G.1.2.3: newly nonzero coefficients (±2^Al) placed after a run of still-zero ones, and one
    /// correction bit for every coefficient already nonzero that the run or the end-of-band passes.
    /// </summary>
    void AcRefine(Span<short> block)
    {
        int p1 = 1 << Scan.Al, m1 = -1 << Scan.Al;
        int k = Scan.Ss, se = Scan.Se;
        if (eobRun == 0)
        {
            var ac = acTables[0];
            for (; k <= se; k++)
            {
                int rs = Symbol(ac);
                int run = rs >> 4, size = rs & 15, value = 0;
                if (size != 0)
                {
                    if (size != 1) throw JpegException.Corrupt("a refinement scan codes a coefficient larger than one bit");
                    value = Bits(1) != 0 ? p1 : m1;
                }
                else if (run != 15)
                {
                    eobRun = (1 << run) + (run > 0 ? Bits(run) : 0);
                    break;
                }
                for (; k <= se; k++)
                {
                    ref short coef = ref block[ZigZag[k]];
                    if (coef != 0) Correct(ref coef, p1, m1);
                    else if (--run < 0) break;
                }
                if (value != 0)
                {
                    if (k > se) throw JpegException.Corrupt("a coefficient lies outside its scan's band");
                    block[ZigZag[k]] = (short)value;
                }
            }
        }
        if (eobRun > 0)
        {
            for (; k <= se; k++)
            {
                ref short coef = ref block[ZigZag[k]];
                if (coef != 0) Correct(ref coef, p1, m1);
            }
            eobRun--;
        }
    }

    /// <summary>A correction bit of 1 adds 2^Al to the magnitude, unless that bit is set already.</summary>
    void Correct(ref short coef, int p1, int m1)
    {
        if (Bits(1) != 0 && (coef & p1) == 0) coef = (short)(coef + (coef >= 0 ? p1 : m1));
    }

    /// <summary>F.12: a value of <paramref name="size"/> bits whose leading 0 marks a negative number.</summary>
    static int Extend(int v, int size) => v < 1 << (size - 1) ? v - (1 << size) + 1 : v;

    int Symbol(HuffmanTable table)
    {
        if (bits < 32) Fill();
        int symbol = table.Decode((int)(buffer >> 48), out int length);
        if (length == 0) throw JpegException.Corrupt("a bit sequence that is no code of its Huffman table");
        buffer <<= length;
        bits -= length;
        return symbol;
    }

    /// <summary>The next n bits (1 ≤ n ≤ 16) as an unsigned number.</summary>
    int Bits(int n)
    {
        if (bits < n) Fill();
        int v = (int)(buffer >> (64 - n));
        buffer <<= n;
        bits -= n;
        return v;
    }

    void Fill()
    {
        var d = Data.Bytes;
        while (bits <= 56)
        {
            int p = Data.Position, b;
            if (p < d.Length && d[p] != 0xFF && Data.MarkerAt < 0)
            {
                b = d[p];
                Data.Position = p + 1;
            }
            else if ((b = Data.ReadByte()) < 0)
            {
                zeroBits += 8;
                bits += 8;
                continue;
            }
            buffer |= (ulong)b << (56 - bits);
            bits += 8;
        }
    }
}
