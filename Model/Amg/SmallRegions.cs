namespace SamEngine.Model;

internal enum RegionMode { Holes, Islands }

/// <summary>
/// remove_small_regions: fills holes (unset components) or removes islands (set components)
/// smaller than an area threshold, with 8-connected components. Removing islands keeps the
/// largest one when all are small, so a mask never becomes empty for being fragmented.
/// </summary>
internal static class SmallRegions
{
    /// <summary>The cleaned row-major mask and whether it changed (when not, the same array).</summary>
    public static (bool[] Mask, bool Changed) Remove(bool[] mask, int height, int width, double areaThreshold, RegionMode mode)
    {
        bool holes = mode == RegionMode.Holes;
        // Holes are the components of the unset pixels.
        var working = new bool[mask.Length];
        for (int i = 0; i < mask.Length; i++) working[i] = mask[i] ^ holes;
        var labels = new int[mask.Length];
        var areas = ConnectedComponents.Label(working, height, width, labels);

        var small = new bool[areas.Length];
        bool anySmall = false;
        for (int label = 1; label < areas.Length; label++)
            if (areas[label] < areaThreshold) anySmall = small[label] = true;
        if (!anySmall) return (mask, false);

        // The labels whose pixels end up set.
        var fill = new bool[areas.Length];
        if (holes)
        {
            fill[0] = true;
            for (int label = 1; label < areas.Length; label++) fill[label] = small[label];
        }
        else
        {
            bool anyKept = false;
            for (int label = 1; label < areas.Length; label++) anyKept |= fill[label] = !small[label];
            if (!anyKept) fill[LargestComponent(areas)] = true;
        }
        var result = new bool[mask.Length];
        for (int i = 0; i < result.Length; i++) result[i] = fill[labels[i]];
        return (result, true);
    }

    /// <summary>The first label (≥ 1) of the largest area, as np.argmax(sizes) + 1.</summary>
    static int LargestComponent(int[] areas)
    {
        int best = 1;
        for (int label = 2; label < areas.Length; label++)
            if (areas[label] > areas[best]) best = label;
        return best;
    }
}
