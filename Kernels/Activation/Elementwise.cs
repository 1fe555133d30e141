using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>Runs a span-to-span map over a cpu tensor, split into chunks across cores when it is large.</summary>
static class Elementwise
{
    public delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    // Big enough that a chunk outweighs the cost of handing it to another core.
    const int Chunk = 1 << 16;

    public static void Cpu(Tensor x, Tensor y, SpanMap map)
    {
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        int n = checked((int)x.Length);
        int chunks = (n + Chunk - 1) / Chunk;
        if (chunks <= 1) map(xa.AsSpan(xo, n), ya.AsSpan(yo, n));
        else CpuCores.For(0, chunks, c =>
        {
            int start = c * Chunk, count = Math.Min(Chunk, n - start);
            map(xa.AsSpan(xo + start, count), ya.AsSpan(yo + start, count));
        });
    }
}
