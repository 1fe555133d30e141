namespace SamEngine.FileFormats;

/// <summary>The frame header (SOFn): coding process, image size and components, with the MCU geometry derived from it.</summary>
sealed class JpegFrame
{
    public int Width { get; }
    public int Height { get; }
    public bool Progressive { get; }
    public bool Arithmetic { get; }
    public JpegComponent[] Components { get; }
    public int MaxH { get; }
    public int MaxV { get; }
    public int McusPerLine { get; }
    public int McuRows { get; }

    public JpegFrame(int width, int height, bool progressive, bool arithmetic, JpegComponent[] components)
    {
        (Width, Height, Progressive, Arithmetic, Components) = (width, height, progressive, arithmetic, components);
        MaxH = components.Max(c => c.H);
        MaxV = components.Max(c => c.V);
        McusPerLine = CeilDiv(width, 8 * MaxH);
        McuRows = CeilDiv(height, 8 * MaxV);
        foreach (var c in components)
        {
            c.Width = CeilDiv(width * c.H, MaxH);
            c.Height = CeilDiv(height * c.V, MaxV);
            c.BlocksWide = CeilDiv(c.Width, 8);
            c.BlocksHigh = CeilDiv(c.Height, 8);
            c.BlocksPerLine = McusPerLine * c.H;
            c.BlockRows = McuRows * c.V;
        }
    }

    public static int CeilDiv(int a, int b) => (int)(((long)a + b - 1) / b);
}
