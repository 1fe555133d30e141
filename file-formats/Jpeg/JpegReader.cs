using System.Buffers.Binary;

namespace SamEngine.FileFormats;

/// <summary>
/// Walks a JPEG's markers as libjpeg's jdmarker.c does, keeps the tables they define and decodes
/// every scan's entropy-coded data into the components' coefficients. What libjpeg treats as an
/// error is refused here too; what it only warns about is refused where it would change pixels
/// (corrupt entropy data) and tolerated where it does not (stray bytes between segments).
/// </summary>
sealed class JpegReader
{
    readonly byte[] data;
    readonly long maxPixels;
    int position;

    readonly ushort[]?[] quantTables = new ushort[4][];
    readonly HuffmanTable?[] dcTables = new HuffmanTable[4], acTables = new HuffmanTable[4];
    readonly ArithmeticScanDecoder.Conditioning conditioning = new();
    int restartInterval, scans;
    bool sawJfif, sawAdobe;
    int adobeTransform;

    public JpegFrame? Frame { get; private set; }

    /// <summary>The first APP1 segment before the first scan, where cv2 looks for EXIF.</summary>
    public ReadOnlyMemory<byte> FirstApp1 { get; private set; }

    public JpegReader(byte[] data, long maxPixels)
    {
        this.data = data;
        this.maxPixels = maxPixels;
    }

    /// <summary>Reads up to the end-of-image marker; the frame's components then hold every coefficient.</summary>
    public JpegFrame Read()
    {
        if (data.Length < 2 || data[0] != 0xFF || data[1] != JpegMarkers.Soi) throw new JpegException("not a JPEG file (no start-of-image marker)");
        position = 2;
        while (true)
        {
            int marker = JpegMarkers.Next(data, ref position);
            switch (marker)
            {
                case < 0:
                    throw JpegException.Corrupt(scans == 0 ? "the file ends before any image data" : "the file ends before the end-of-image marker");
                case JpegMarkers.Eoi:
                    return Finish();
                case JpegMarkers.Soi:
                    throw JpegException.Corrupt("a second start-of-image marker");
                case JpegMarkers.Sof0 or JpegMarkers.Sof1 or JpegMarkers.Sof2 or JpegMarkers.Sof9 or JpegMarkers.Sof10:
                    ReadFrame(marker, Segment());
                    break;
                case 0xC3 or 0xC5 or 0xC6 or 0xC7 or 0xC8 or 0xCB or 0xCD or 0xCE or 0xCF:
                    throw JpegException.Unsupported($"{FrameKind(marker)}, which libjpeg-turbo does not decode either");
                case JpegMarkers.Dht:
                    ReadHuffmanTables(Segment());
                    break;
                case JpegMarkers.Dqt:
                    ReadQuantTables(Segment());
                    break;
                case JpegMarkers.Dac:
                    ReadConditioning(Segment());
                    break;
                case JpegMarkers.Dri:
                {
                    var s = Segment();
                    if (s.Length != 2) throw JpegException.Corrupt("a restart-interval segment of the wrong length");
                    restartInterval = BinaryPrimitives.ReadUInt16BigEndian(s);
                    break;
                }
                case JpegMarkers.Sos:
                    ReadScan(Segment());
                    break;
                case JpegMarkers.App0:
                {
                    var s = Segment();
                    if (s.Length >= 14 && s[..5].SequenceEqual("JFIF\0"u8)) sawJfif = true;
                    break;
                }
                case JpegMarkers.App14:
                {
                    var s = Segment();
                    if (s.Length >= 12 && s[..5].SequenceEqual("Adobe"u8))
                    {
                        sawAdobe = true;
                        adobeTransform = s[11];
                    }
                    break;
                }
                case JpegMarkers.App1:
                {
                    int start = position + 2;
                    var s = Segment();
                    if (FirstApp1.IsEmpty && scans == 0) FirstApp1 = data.AsMemory(start, s.Length);
                    break;
                }
                case (> JpegMarkers.App0 and <= 0xEF) or JpegMarkers.Com or JpegMarkers.Dnl:
                    Segment();
                    break;
                case JpegMarkers.Tem or (>= JpegMarkers.Rst0 and <= JpegMarkers.Rst0 + 7):
                    break; // no length, nothing to do (libjpeg ignores stray restart markers)
                default:
                    throw JpegException.Corrupt($"unknown marker 0x{marker:X2}");
            }
        }
    }

    /// <summary>The payload of the segment at the position (after its marker), moving past it.</summary>
    ReadOnlySpan<byte> Segment()
    {
        if (position + 2 > data.Length) throw JpegException.Corrupt("the file ends inside a segment");
        int length = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(position));
        if (length < 2) throw JpegException.Corrupt($"a segment of length {length}");
        if (position + length > data.Length) throw JpegException.Corrupt("the file ends inside a segment");
        var payload = data.AsSpan(position + 2, length - 2);
        position += length;
        return payload;
    }

    static string FrameKind(int marker) => marker switch
    {
        0xC3 or 0xCB => "lossless coding",
        0xC5 or 0xC6 or 0xC7 or 0xCD or 0xCE or 0xCF => "hierarchical coding",
        _ => $"frame type 0x{marker:X2}",
    };

    void ReadFrame(int marker, ReadOnlySpan<byte> s)
    {
        if (Frame != null) throw JpegException.Corrupt("a second frame header");
        if (s.Length < 6) throw JpegException.Corrupt("a frame header of the wrong length");
        int precision = s[0], height = BinaryPrimitives.ReadUInt16BigEndian(s[1..]), width = BinaryPrimitives.ReadUInt16BigEndian(s[3..]), count = s[5];
        if (height == 0 || width == 0 || count == 0) throw JpegException.Corrupt($"an empty image ({width}×{height}, {count} components)");
        if (s.Length != 6 + 3 * count) throw JpegException.Corrupt("a frame header of the wrong length");
        if (precision != 8) throw JpegException.Unsupported($"{precision}-bit samples; cv2 reads 8-bit JPEG only");
        if (count is 2 or > 4) throw JpegException.Unsupported($"{count} colour components");
        if ((long)width * height > maxPixels) throw new JpegException(ImageLoader.TooLarge(width, height));
        var components = new JpegComponent[count];
        for (int i = 0; i < count; i++)
        {
            int id = s[6 + 3 * i], h = s[7 + 3 * i] >> 4, v = s[7 + 3 * i] & 15, tq = s[8 + 3 * i];
            if (h is < 1 or > 4 || v is < 1 or > 4) throw JpegException.Corrupt($"sampling factors {h}×{v}");
            if (components.Take(i).Any(c => c.Id == id)) throw JpegException.Corrupt($"component id {id} appears twice");
            components[i] = new JpegComponent { Id = id, Index = i, H = h, V = v, QuantTableId = tq };
        }
        Frame = new JpegFrame(width, height, progressive: marker is JpegMarkers.Sof2 or JpegMarkers.Sof10,
            arithmetic: marker is JpegMarkers.Sof9 or JpegMarkers.Sof10, components);
    }

    void ReadHuffmanTables(ReadOnlySpan<byte> s)
    {
        while (s.Length > 16)
        {
            int index = s[0];
            var counts = s.Slice(1, 16).ToArray();
            int total = counts.Sum(c => c);
            s = s[17..];
            if (total > 256 || total > s.Length) throw JpegException.Corrupt("a Huffman table with more symbols than it holds");
            int id = index & 0x0F;
            if ((index & ~0x1F) != 0 || id >= 4) throw JpegException.Corrupt($"Huffman table index 0x{index:X2}");
            var table = new HuffmanTable(counts, s[..total].ToArray());
            if ((index & 0x10) != 0) acTables[id] = table;
            else dcTables[id] = table;
            s = s[total..];
        }
        if (s.Length != 0) throw JpegException.Corrupt("a Huffman table segment of the wrong length");
    }

    void ReadQuantTables(ReadOnlySpan<byte> s)
    {
        while (s.Length > 0)
        {
            int precision = s[0] >> 4, id = s[0] & 0x0F;
            if (id >= 4) throw JpegException.Corrupt($"quantisation table index {id}");
            int size = precision != 0 ? 128 : 64;
            if (s.Length < 1 + size) throw JpegException.Corrupt("a quantisation table segment of the wrong length");
            var table = new ushort[64];
            for (int k = 0; k < 64; k++)
                table[ScanDecoder.ZigZag[k]] = precision != 0 ? BinaryPrimitives.ReadUInt16BigEndian(s[(1 + 2 * k)..]) : s[1 + k];
            quantTables[id] = table;
            s = s[(1 + size)..];
        }
    }

    void ReadConditioning(ReadOnlySpan<byte> s)
    {
        if (s.Length % 2 != 0) throw JpegException.Corrupt("an arithmetic conditioning segment of the wrong length");
        for (int i = 0; i < s.Length; i += 2)
        {
            int index = s[i], value = s[i + 1];
            if (index >= 32) throw JpegException.Corrupt($"arithmetic conditioning table index {index}");
            if (index >= 16) conditioning.AcK[index - 16] = (byte)value;
            else
            {
                if ((value & 15) > value >> 4) throw JpegException.Corrupt($"arithmetic DC conditioning L > U (0x{value:X2})");
                conditioning.DcL[index] = (byte)(value & 15);
                conditioning.DcU[index] = (byte)(value >> 4);
            }
        }
    }

    void ReadScan(ReadOnlySpan<byte> s)
    {
        var frame = Frame ?? throw JpegException.Corrupt("a scan before the frame header");
        int n = s.Length > 0 ? s[0] : 0;
        if (n is < 1 or > 4 || s.Length != 4 + 2 * n) throw JpegException.Corrupt("a scan header of the wrong length");
        var components = new JpegComponent[n];
        for (int i = 0; i < n; i++)
        {
            int id = s[1 + 2 * i], tables = s[2 + 2 * i];
            var c = frame.Components.FirstOrDefault(c => c.Id == id) ?? throw JpegException.Corrupt($"a scan names component {id}, which the frame lacks");
            if (components.Take(i).Contains(c)) throw JpegException.Corrupt($"a scan names component {id} twice");
            c.DcTable = tables >> 4;
            c.AcTable = tables & 15;
            components[i] = c;
        }
        var scan = new JpegScan(components, s[1 + 2 * n], s[2 + 2 * n], s[3 + 2 * n] >> 4, s[3 + 2 * n] & 15);
        if (n > 1 && components.Sum(c => c.H * c.V) > 10) throw JpegException.Corrupt("an MCU of more than 10 blocks");
        scan = CheckProgression(frame, scan);

        if (scans++ == 0 && !frame.Arithmetic)
        {
            dcTables[0] ??= HuffmanTable.Standard.DcLuminance();
            dcTables[1] ??= HuffmanTable.Standard.DcChrominance();
            acTables[0] ??= HuffmanTable.Standard.AcLuminance();
            acTables[1] ??= HuffmanTable.Standard.AcChrominance();
        }
        CheckDataCanCover(frame, scan);
        foreach (var c in components)
        {
            c.Quant ??= (c.QuantTableId < 4 ? quantTables[c.QuantTableId] : null)
                ?? throw JpegException.Corrupt($"component {c.Id} uses quantisation table {c.QuantTableId}, which is not defined");
            c.Coefficients ??= new short[(long)c.BlocksPerLine * c.BlockRows * 64];
        }

        var entropy = new EntropyData(data, position);
        ScanDecoder decoder = frame.Arithmetic
            ? new ArithmeticScanDecoder(entropy, frame, scan, conditioning)
            : new HuffmanScanDecoder(entropy, frame, scan, dcTables, acTables);
        decoder.Run(restartInterval);
        position = entropy.ResumeAt;
    }

    /// <summary>
    /// Before coefficients are allocated for a size the header claims: a Huffman-coded scan that
    /// codes DC values spends at least one bit on every block (two for a sequential one), so a file
    /// too short for that is refused here, not after allocating for a size it never had.
    /// </summary>
    void CheckDataCanCover(JpegFrame frame, JpegScan scan)
    {
        if (frame.Arithmetic || (frame.Progressive && !(scan.IsDc && !scan.IsRefinement))) return;
        long blocks = scan.Components.Length == 1
            ? (long)scan.Components[0].BlocksWide * scan.Components[0].BlocksHigh
            : (long)frame.McusPerLine * frame.McuRows * scan.Components.Sum(c => c.H * c.V);
        long bits = blocks * (frame.Progressive ? 1 : 2);
        long available = 8L * (data.Length - position);
        if (bits > available)
            throw JpegException.Corrupt($"a scan of {blocks} blocks needs at least {(bits + 7) / 8} bytes, the file has {data.Length - position} left");
    }

    /// <summary>
    /// libjpeg's checks of a scan's band and approximation bits: errors where it errs; for a
    /// sequential frame the band is ignored (0..63), as libjpeg ignores it with a warning.
    /// </summary>
    static JpegScan CheckProgression(JpegFrame frame, JpegScan scan)
    {
        if (!frame.Progressive) return scan with { Ss = 0, Se = 63, Ah = 0, Al = 0 };
        bool bad = scan.Ss == 0 ? scan.Se != 0 : scan.Se < scan.Ss || scan.Se > 63 || scan.Components.Length != 1;
        if (scan.Ah != 0 && scan.Ah - 1 != scan.Al) bad = true;
        if (scan.Al > 13) bad = true;
        if (bad) throw JpegException.Corrupt($"invalid progressive scan (Ss={scan.Ss}, Se={scan.Se}, Ah={scan.Ah}, Al={scan.Al})");
        foreach (var c in scan.Components)
            for (int k = scan.Ss; k <= scan.Se; k++)
                c.CoefBits[k] = scan.Al;
        return scan;
    }

    JpegFrame Finish()
    {
        var frame = Frame ?? throw JpegException.Corrupt("no frame header before the end-of-image marker");
        foreach (var c in frame.Components)
            if (c.Coefficients == null) throw JpegException.Corrupt($"component {c.Id} has no scan data");
        if (frame.Progressive && NeedsBlockSmoothing(frame))
            throw JpegException.Unsupported("a progressive JPEG whose scans leave low-frequency coefficients unrefined (libjpeg would smooth its blocks)");
        return frame;
    }

    /// <summary>libjpeg-turbo's smoothing_ok: the DC known for every component, some of AC 1–9 not fully refined.</summary>
    static bool NeedsBlockSmoothing(JpegFrame frame)
    {
        ReadOnlySpan<int> checkedQuant = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24];
        bool useful = false;
        foreach (var c in frame.Components)
        {
            foreach (int q in checkedQuant)
                if (c.Quant![q] == 0) return false;
            if (c.CoefBits[0] < 0) return false;
            for (int k = 1; k < 10; k++)
                if (c.CoefBits[k] != 0) useful = true;
        }
        return useful;
    }

    public JpegColorSpace ColorSpace => Frame!.Components.Length switch
    {
        1 => JpegColorSpace.Grayscale,
        3 when sawJfif => JpegColorSpace.YCbCr,
        3 when sawAdobe => adobeTransform == 0 ? JpegColorSpace.Rgb : JpegColorSpace.YCbCr,
        3 => Frame.Components is [{ Id: 82 }, { Id: 71 }, { Id: 66 }] ? JpegColorSpace.Rgb : JpegColorSpace.YCbCr,
        _ => sawAdobe && adobeTransform != 0 ? JpegColorSpace.Ycck : JpegColorSpace.Cmyk,
    };
}
