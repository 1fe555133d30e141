namespace SamEngine.FileFormats;

/// <summary>
/// The entropy-coded bytes of a scan, as libjpeg reads them: FF 00 stands for a data byte FF (after
/// any run of FF fill bytes), and FF followed by anything else is a marker, which ends the data.
/// Past the end a decoder is fed zeros; <see cref="MarkerAt"/> says where the marker is.
/// </summary>
sealed class EntropyData(byte[] data, int start)
{
    public readonly byte[] Bytes = data;
    public int Position = start;

    /// <summary>Index of the marker code that ended the data (its FF precedes it), data.Length at the end of the file, −1 while none was met.</summary>
    public int MarkerAt = -1;

    /// <summary>The next data byte, or −1 once the data has ended (the marker stays unread).</summary>
    public int ReadByte()
    {
        if (MarkerAt >= 0) return -1;
        var d = Bytes;
        if (Position >= d.Length)
        {
            MarkerAt = d.Length;
            return -1;
        }
        byte b = d[Position];
        if (b != 0xFF)
        {
            Position++;
            return b;
        }
        int p = Position + 1;
        while (p < d.Length && d[p] == 0xFF) p++;
        if (p < d.Length && d[p] == 0)
        {
            Position = p + 1;
            return 0xFF;
        }
        MarkerAt = p;
        return -1;
    }

    /// <summary>
    /// Moves past the restart marker that must follow an interval's data. Bytes the decoder left
    /// unread before it are skipped, as libjpeg skips them; any other marker is corruption.
    /// </summary>
    public void ExpectRestart(int n)
    {
        int position = ResumeAt;
        int marker = JpegMarkers.Next(Bytes, ref position);
        if (marker != JpegMarkers.Rst0 + n)
            throw JpegException.Corrupt($"restart marker RST{n} expected, found {JpegMarkers.Describe(marker)}");
        Position = position;
        MarkerAt = -1;
    }

    /// <summary>Where the parser resumes after the scan: the marker that ended it, or the first byte not read.</summary>
    public int ResumeAt => MarkerAt >= 0 ? MarkerAt - 1 : Position;
}
