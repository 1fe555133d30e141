namespace SamEngine.Model;

/// <summary>
/// The point prompts of automatic mask generation: an n×n grid of cell centres in [0,1]²,
/// listed row by row (y outer, x inner). The coordinates are computed as numpy.linspace does
/// (i·step + start, the last one set to stop exactly) so that prompts, and through them the
/// masks, match the reference bit for bit.
/// </summary>
internal static class PointGrids
{
    public static (double X, double Y)[] Build(int nPerSide)
    {
        if (nPerSide < 1) throw new ArgumentException($"points per side must be at least 1, got {nPerSide}");
        var side = Linspace(1.0 / (2 * nPerSide), nPerSide);
        var points = new (double X, double Y)[nPerSide * nPerSide];
        for (int row = 0; row < nPerSide; row++)
            for (int col = 0; col < nPerSide; col++)
                points[row * nPerSide + col] = (side[col], side[row]);
        return points;
    }

    /// <summary>
    /// One grid per crop layer (layer 0 is the whole image): layer i has
    /// ⌊nPerSide / scalePerLayer^i⌋ points per side.
    /// </summary>
    public static (double X, double Y)[][] BuildAllLayers(int nPerSide, int nLayers, int scalePerLayer)
    {
        if (nLayers < 0) throw new ArgumentException($"crop layers must be >= 0, got {nLayers}");
        if (scalePerLayer < 1) throw new ArgumentException($"points downscale factor must be >= 1, got {scalePerLayer}");
        var grids = new (double X, double Y)[nLayers + 1][];
        long scale = 1;
        for (int i = 0; i <= nLayers; i++)
        {
            // Python: int(n_per_side / scale**i), a float division truncated.
            int n = (int)(nPerSide / (double)scale);
            if (n < 1)
                throw new ArgumentException($"crop layer {i} would have {nPerSide}/{scale} < 1 points per side");
            grids[i] = Build(n);
            scale *= scalePerLayer;
        }
        return grids;
    }

    /// <summary>numpy.linspace(offset, 1 - offset, n): n values from offset to 1 - offset.</summary>
    static double[] Linspace(double offset, int n)
    {
        double start = offset, stop = 1 - offset;
        var y = new double[n];
        if (n == 1)
        {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n - 1; i++) y[i] = i * step + start;
        y[n - 1] = stop;
        return y;
    }
}
