namespace SamEngine.Engine;

/// <summary>
/// The parallel loops of the native cpu path: one worker per core. A plain Parallel.For lets the
/// thread pool add workers beyond the core count (3–4 on a 2-core machine, measured), which then
/// time-slice the cores: a GEMM's or attention's blocks lose the caches they were sized for, and a
/// loop of equal items finishes unevenly (the encoder's cores sat idle 7% of each pass).
/// </summary>
internal static class CpuCores
{
    static readonly ParallelOptions OnePerCore = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    public static void For(int fromInclusive, int toExclusive, Action<int> body) => Parallel.For(fromInclusive, toExclusive, OnePerCore, body);

    /// <summary>With per-worker state (scratch buffers): made by init, passed from item to item, handed to done.</summary>
    public static void For<TLocal>(int fromInclusive, int toExclusive, Func<TLocal> init, Func<int, ParallelLoopState, TLocal, TLocal> body,
        Action<TLocal> done) => Parallel.For(fromInclusive, toExclusive, OnePerCore, init, body, done);
}
