namespace SamEngine.FileFormats;

/// <summary>
/// One colour component of a frame: its sampling factors, its size in samples and blocks, and the
/// quantised DCT coefficients of all its blocks (natural order, 64 per block, rows of blocks padded
/// to whole MCUs) as the scans fill them in.
/// </summary>
sealed class JpegComponent
{
    public required int Id { get; init; }
    public required int Index { get; init; }
    public required int H { get; init; }
    public required int V { get; init; }
    public required int QuantTableId { get; init; }

    /// <summary>Downsampled size in samples: ceil(image size · factor / max factor).</summary>
    public int Width, Height;

    /// <summary>Blocks holding real samples: what a scan of this component alone covers.</summary>
    public int BlocksWide, BlocksHigh;

    /// <summary>Blocks in whole MCUs: what interleaved scans cover, and the storage's shape.</summary>
    public int BlocksPerLine, BlockRows;

    /// <summary>Allocated at the component's first scan, not at the frame header.</summary>
    public short[]? Coefficients;

    /// <summary>Latched at the component's first scan, as libjpeg does: a later DQT does not change it.</summary>
    public ushort[]? Quant;

    /// <summary>Per coefficient, the successive-approximation bit its last scan left (Al), -1 before any scan.</summary>
    public readonly int[] CoefBits = Enumerable.Repeat(-1, 64).ToArray();

    public int DcTable, AcTable;

    public Span<short> Block(int row, int col) => Coefficients.AsSpan((row * BlocksPerLine + col) * 64, 64);
}
