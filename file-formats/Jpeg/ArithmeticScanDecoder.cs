namespace SamEngine.FileFormats;

/// <summary>
/// Arithmetic-coded scans (T.81 F.1.4.4 and F.2.4 sequential, G.1.3 progressive): binary decisions
/// in adaptive statistics bins, conditioned as the DAC segment says (L, U for DC; K for AC).
/// Where libjpeg warns and stops decoding (a magnitude or run past what 8-bit data allows) this
/// refuses the file.
/// </summary>
sealed class ArithmeticScanDecoder : ScanDecoder
{
    /// <summary>Conditioning of each of the 16 tables: DC lower and upper bounds, AC band split (defaults of F.1.4.4).</summary>
    public sealed class Conditioning
    {
        public readonly byte[] DcL = new byte[16], DcU = Enumerable.Repeat((byte)1, 16).ToArray(), AcK = Enumerable.Repeat((byte)5, 16).ToArray();
    }

    const int DcBins = 64, AcBins = 256;

    readonly ArithmeticDecoder coder;
    readonly Conditioning conditioning;
    readonly bool progressive;
    readonly byte[][] dcStats = new byte[16][], acStats = new byte[16][];
    readonly int[] lastDc, dcContext;
    byte fixedBin = ArithmeticDecoder.FixedBin;

    public ArithmeticScanDecoder(EntropyData data, JpegFrame frame, JpegScan scan, Conditioning conditioning) : base(data, frame, scan)
    {
        coder = new ArithmeticDecoder(data);
        this.conditioning = conditioning;
        progressive = frame.Progressive;
        lastDc = new int[scan.Components.Length];
        dcContext = new int[scan.Components.Length];
        foreach (var c in scan.Components)
        {
            dcStats[c.DcTable] ??= new byte[DcBins];
            acStats[c.AcTable] ??= new byte[AcBins];
        }
    }

    bool UsesDcStats => !progressive || (Scan.IsDc && !Scan.IsRefinement);
    bool UsesAcStats => !progressive || !Scan.IsDc;

    protected override void Reset()
    {
        foreach (var c in Scan.Components)
        {
            if (UsesDcStats) Array.Clear(dcStats[c.DcTable]);
            if (UsesAcStats) Array.Clear(acStats[c.AcTable]);
        }
        Array.Clear(lastDc);
        Array.Clear(dcContext);
        coder.Reset();
    }

    protected override void EndInterval() { }

    protected override void DecodeBlock(int slot, Span<short> block)
    {
        var c = Scan.Components[slot];
        if (!progressive)
        {
            block[0] = (short)DcValue(slot, c.DcTable);
            AcBand(block, c.AcTable, 1, 63, 0);
        }
        else if (Scan.IsDc)
        {
            if (!Scan.IsRefinement) block[0] = (short)(DcValue(slot, c.DcTable) << Scan.Al);
            else if (coder.Decode(ref fixedBin) != 0) block[0] |= (short)(1 << Scan.Al);
        }
        else if (!Scan.IsRefinement) AcBand(block, c.AcTable, Scan.Ss, Scan.Se, Scan.Al);
        else AcRefine(block, c.AcTable);
    }

    /// <summary>F.1.4.4.1: the DC difference in the context its predecessor's size set, added to the prediction (16 bits, as libjpeg keeps it).</summary>
    int DcValue(int slot, int table)
    {
        var stats = dcStats[table];
        int s = dcContext[slot];
        if (coder.Decode(ref stats[s]) == 0)
        {
            dcContext[slot] = 0;
            return lastDc[slot];
        }
        int sign = coder.Decode(ref stats[s + 1]);
        int bin = s + 2 + sign;
        int m = coder.Decode(ref stats[bin]);
        if (m != 0)
        {
            bin = 20; // X1
            while (coder.Decode(ref stats[bin]) != 0)
            {
                if ((m <<= 1) == 0x8000) throw JpegException.Corrupt("an arithmetic-coded DC difference is too large");
                bin++;
            }
        }
        if (m < (1 << conditioning.DcL[table]) >> 1) dcContext[slot] = 0;
        else if (m > (1 << conditioning.DcU[table]) >> 1) dcContext[slot] = 12 + sign * 4;
        else dcContext[slot] = 4 + sign * 4;
        int v = Magnitude(stats, bin + 14, m);
        lastDc[slot] = (lastDc[slot] + (sign != 0 ? -v : v)) & 0xFFFF;
        return lastDc[slot];
    }

    /// <summary>F.1.4.4.2: end-of-band and zero/nonzero decisions per position k, then sign and size of each nonzero coefficient.</summary>
    void AcBand(Span<short> block, int table, int ss, int se, int al)
    {
        var stats = acStats[table];
        for (int k = ss; k <= se; k++)
        {
            int s = 3 * (k - 1);
            if (coder.Decode(ref stats[s]) != 0) break; // end of band
            while (coder.Decode(ref stats[s + 1]) == 0)
            {
                s += 3;
                if (++k > se) throw JpegException.Corrupt("an arithmetic-coded run passes the end of its band");
            }
            int sign = coder.Decode(ref fixedBin);
            int bin = s + 2;
            int m = coder.Decode(ref stats[bin]);
            if (m != 0 && coder.Decode(ref stats[bin]) != 0)
            {
                m <<= 1;
                bin = k <= conditioning.AcK[table] ? 189 : 217;
                while (coder.Decode(ref stats[bin]) != 0)
                {
                    if ((m <<= 1) == 0x8000) throw JpegException.Corrupt("an arithmetic-coded AC coefficient is too large");
                    bin++;
                }
            }
            int v = Magnitude(stats, bin + 14, m);
            block[ZigZag[k]] = (short)((sign != 0 ? -v : v) << al);
        }
    }

    /// <summary>The bits of a magnitude below its leading one (F.24), plus one.</summary>
    int Magnitude(byte[] stats, int bin, int m)
    {
        int v = m;
        while ((m >>= 1) != 0)
            if (coder.Decode(ref stats[bin]) != 0) v |= m;
        return v + 1;
    }

    /// <summary>G.1.3.3: past the previous scan's last nonzero coefficient an end-of-band decision comes first; nonzero ones get a correction bit.</summary>
    void AcRefine(Span<short> block, int table)
    {
        var stats = acStats[table];
        int p1 = 1 << Scan.Al, m1 = -1 << Scan.Al;
        int kex = Scan.Se;
        while (kex > 0 && block[ZigZag[kex]] == 0) kex--;
        for (int k = Scan.Ss; k <= Scan.Se; k++)
        {
            int s = 3 * (k - 1);
            if (k > kex && coder.Decode(ref stats[s]) != 0) break;
            while (true)
            {
                ref short coef = ref block[ZigZag[k]];
                if (coef != 0)
                {
                    if (coder.Decode(ref stats[s + 2]) != 0) coef = (short)(coef + (coef < 0 ? m1 : p1));
                    break;
                }
                if (coder.Decode(ref stats[s + 1]) != 0)
                {
                    coef = (short)(coder.Decode(ref fixedBin) != 0 ? m1 : p1);
                    break;
                }
                s += 3;
                if (++k > Scan.Se) throw JpegException.Corrupt("an arithmetic-coded run passes the end of its band");
            }
        }
    }
}
