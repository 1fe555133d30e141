namespace SamEngine.Model;

/// <summary>
/// A procedurally drawn test scene (sky, sun, hills, a house, a tree) so that `sam demo` runs on a
/// fresh clone without any image file. Deterministic: the same pixels every run. Also gives a point
/// and a box that land on objects of the scene, for the demo's prompts.
/// </summary>
internal static class DemoScene
{
    public const int Width = 960, Height = 640;

    /// <summary>A point on the house wall and a box around the tree, in scene pixels.</summary>
    public static (float X, float Y) HousePoint => (330, 430);
    public static (float X0, float Y0, float X1, float Y1) TreeBox => (640, 250, 800, 560);

    /// <summary>RGB, row-major, Height × Width × 3.</summary>
    public static byte[] Draw()
    {
        var rgb = new byte[Width * Height * 3];
        var rng = new Random(7);
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                var (r, g, b) = Pixel(x, y);
                // A little sensor noise so flat regions are not perfectly flat.
                int n = rng.Next(-4, 5);
                int i = (y * Width + x) * 3;
                rgb[i] = Clamp(r + n);
                rgb[i + 1] = Clamp(g + n);
                rgb[i + 2] = Clamp(b + n);
            }
        return rgb;
    }

    static (int R, int G, int B) Pixel(int x, int y)
    {
        // Painter's order, front to back: the first shape that covers the pixel wins.
        if (InDoor(x, y)) return (110, 60, 30);
        if (InWindow(x, y)) return (170, 210, 240);
        if (InRect(x, y, 220, 360, 460, 560)) return (215, 190, 140);           // house wall
        if (InTriangle(x, y, (200, 362), (480, 362), (340, 250))) return (160, 40, 35); // roof
        if (InEllipse(x, y, 720, 330, 80, 95)) return (40, 125 + (x + y) % 7, 45); // tree crown
        if (InRect(x, y, 705, 400, 735, 560)) return (95, 65, 40);              // trunk
        if (InEllipse(x, y, 820, 110, 55, 55)) return (250, 215, 70);           // sun
        double hill = 470 + 40 * Math.Sin(x / 140.0) + 20 * Math.Sin(x / 53.0 + 1);
        if (y > hill) return (70 + (int)(30 * Math.Sin(x / 9.0) * Math.Sin(y / 11.0)), 150, 60); // grass
        int t = y * 100 / Height;
        return (120 + t / 2, 170 + t / 3, 235);                                  // sky gradient
    }

    static bool InRect(int x, int y, int x0, int y0, int x1, int y1) => x >= x0 && x < x1 && y >= y0 && y < y1;
    static bool InDoor(int x, int y) => InRect(x, y, 310, 460, 370, 560);
    static bool InWindow(int x, int y) => InRect(x, y, 245, 400, 295, 445) || InRect(x, y, 385, 400, 435, 445);

    static bool InEllipse(int x, int y, int cx, int cy, int rx, int ry)
    {
        double dx = (x - cx) / (double)rx, dy = (y - cy) / (double)ry;
        return dx * dx + dy * dy <= 1;
    }

    static bool InTriangle(int x, int y, (int X, int Y) a, (int X, int Y) b, (int X, int Y) c)
    {
        static long Cross((int X, int Y) p, (int X, int Y) q, int x, int y) => (long)(q.X - p.X) * (y - p.Y) - (long)(q.Y - p.Y) * (x - p.X);
        long d1 = Cross(a, b, x, y), d2 = Cross(b, c, x, y), d3 = Cross(c, a, x, y);
        bool neg = d1 < 0 || d2 < 0 || d3 < 0, pos = d1 > 0 || d2 > 0 || d3 > 0;
        return !(neg && pos);
    }

    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);
}
