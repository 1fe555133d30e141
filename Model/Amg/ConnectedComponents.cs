namespace SamEngine.Model;

/// <summary>
/// 8-connected components of the set pixels of a mask, as cv2.connectedComponentsWithStats(m, 8)
/// labels them: label 0 is the unset pixels, 1..n−1 the components. OpenCV's 8-connectivity
/// algorithms scan 2×2 blocks (pairs of rows, left to right) and number components in the
/// order their first block is met; a 2×2 block never holds two 8-connected components, so
/// numbering components by the first block that holds one of their pixels gives OpenCV's
/// labels. The numbering only matters where the reference picks a component by index.
/// </summary>
internal static class ConnectedComponents
{
    /// <summary>
    /// Labels the row-major h×w mask into <paramref name="labels"/> and returns the area of each
    /// label, background (label 0) first; the label count is the array's length.
    /// </summary>
    public static int[] Label(ReadOnlySpan<bool> mask, int height, int width, int[] labels)
    {
        int n = height * width;
        if (mask.Length != n || labels.Length != n) throw new ArgumentException($"mask and labels must have {height}×{width} pixels");
        Array.Clear(labels);
        var areas = new List<int> { 0 };
        var stack = new Stack<int>();
        for (int by = 0; by < height; by += 2)
            for (int bx = 0; bx < width; bx += 2)
                for (int dy = 0; dy < 2 && by + dy < height; dy++)
                    for (int dx = 0; dx < 2 && bx + dx < width; dx++)
                    {
                        int seed = (by + dy) * width + bx + dx;
                        if (!mask[seed] || labels[seed] != 0) continue;
                        int label = areas.Count;
                        areas.Add(Fill(mask, height, width, labels, seed, label, stack));
                    }
        int background = 0;
        foreach (bool set in mask) if (!set) background++;
        areas[0] = background;
        return areas.ToArray();
    }

    static int Fill(ReadOnlySpan<bool> mask, int height, int width, int[] labels, int seed, int label, Stack<int> stack)
    {
        int area = 0;
        labels[seed] = label;
        stack.Push(seed);
        while (stack.Count > 0)
        {
            int p = stack.Pop();
            area++;
            int y = p / width, x = p % width;
            for (int ny = Math.Max(y - 1, 0); ny <= Math.Min(y + 1, height - 1); ny++)
                for (int nx = Math.Max(x - 1, 0); nx <= Math.Min(x + 1, width - 1); nx++)
                {
                    int q = ny * width + nx;
                    if (mask[q] && labels[q] == 0)
                    {
                        labels[q] = label;
                        stack.Push(q);
                    }
                }
        }
        return area;
    }
}
