namespace SamEngine.FileFormats;

/// <summary>Marker codes (T.81 Table B.1) and how libjpeg finds the next one.</summary>
static class JpegMarkers
{
    public const int Sof0 = 0xC0, Sof1 = 0xC1, Sof2 = 0xC2, Dht = 0xC4, Sof9 = 0xC9, Sof10 = 0xCA, Dac = 0xCC;
    public const int Rst0 = 0xD0, Soi = 0xD8, Eoi = 0xD9, Sos = 0xDA, Dqt = 0xDB, Dnl = 0xDC, Dri = 0xDD;
    public const int App0 = 0xE0, App1 = 0xE1, App14 = 0xEE, Com = 0xFE, Tem = 0x01;

    /// <summary>
    /// The next marker's code at or after <paramref name="position"/>, leaving the position after it;
    /// −1 at the end of the file. Bytes before the FF, FF 00 pairs and FF fill are skipped, as
    /// libjpeg's next_marker skips them.
    /// </summary>
    public static int Next(byte[] data, ref int position)
    {
        int p = position;
        while (true)
        {
            while (p < data.Length && data[p] != 0xFF) p++;
            while (p < data.Length && data[p] == 0xFF) p++;
            if (p >= data.Length)
            {
                position = data.Length;
                return -1;
            }
            if (data[p] != 0)
            {
                position = p + 1;
                return data[p];
            }
            p++;
        }
    }

    public static bool IsRst(int marker) => marker is >= Rst0 and <= Rst0 + 7;

    public static string Describe(int marker) => marker < 0 ? "the end of the file" : $"marker 0x{marker:X2}";
}
