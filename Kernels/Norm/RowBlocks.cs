using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>Native row loops: rows [start, end) per call, spread across cores once the work is large.</summary>
static class RowBlocks
{
    // Elements below which one core is faster than handing blocks out.
    const long ParallelThreshold = 1 << 15;

    public static void For(int rows, long elementsPerRow, Action<int, int> body)
    {
        long work = rows * elementsPerRow;
        if (work < ParallelThreshold || rows == 1) { body(0, rows); return; }
        int blocks = Math.Min(rows, Math.Max(1, (int)Math.Min(4L * Environment.ProcessorCount, work / ParallelThreshold)));
        CpuCores.For(0, blocks, b => body((int)((long)rows * b / blocks), (int)((long)rows * (b + 1) / blocks)));
    }
}
