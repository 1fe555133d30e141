namespace SamEngine.FileFormats;

/// <summary>
/// The order in which a scan's blocks arrive (T.81 A.2): whole MCUs when several components are
/// interleaved, each covering H×V blocks of each (padding blocks included); a single component's
/// blocks row by row, only those holding real samples. Every restart interval ends at a RSTn
/// marker, after which the decoder starts afresh. Subclasses decode one block's bits.
/// </summary>
abstract class ScanDecoder(EntropyData data, JpegFrame frame, JpegScan scan)
{
    protected readonly EntropyData Data = data;
    protected readonly JpegScan Scan = scan;

    /// <summary>Decodes (or refines) one block of the component at <paramref name="slot"/> in the scan's component list.</summary>
    protected abstract void DecodeBlock(int slot, Span<short> block);

    /// <summary>Start of the scan and of every restart interval: predictions, runs and statistics as new.</summary>
    protected abstract void Reset();

    /// <summary>End of an interval's data: whatever the decoder buffered is dropped, and reading past the data is caught.</summary>
    protected abstract void EndInterval();

    public void Run(int restartInterval)
    {
        var components = Scan.Components;
        bool single = components.Length == 1;
        int mcusPerLine = single ? components[0].BlocksWide : frame.McusPerLine;
        int mcuRows = single ? components[0].BlocksHigh : frame.McuRows;
        long mcus = (long)mcusPerLine * mcuRows;
        int rst = 0;
        Reset();
        for (long m = 0; m < mcus; m++)
        {
            if (restartInterval > 0 && m > 0 && m % restartInterval == 0)
            {
                EndInterval();
                Data.ExpectRestart(rst);
                rst = (rst + 1) & 7;
                Reset();
            }
            int mcuY = (int)(m / mcusPerLine), mcuX = (int)(m % mcusPerLine);
            if (single)
            {
                DecodeBlock(0, components[0].Block(mcuY, mcuX));
                continue;
            }
            for (int slot = 0; slot < components.Length; slot++)
            {
                var c = components[slot];
                for (int v = 0; v < c.V; v++)
                    for (int h = 0; h < c.H; h++)
                        DecodeBlock(slot, c.Block(mcuY * c.V + v, mcuX * c.H + h));
            }
        }
        EndInterval();
    }

    /// <summary>T.81 Figure A.6: the zigzag position k's place in the natural (row-major) 8×8 order.</summary>
    public static ReadOnlySpan<byte> ZigZag =>
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ];
}
