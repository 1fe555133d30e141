using SamEngine.Engine;

namespace SamEngine.Tools.Bench;

/// <summary>
/// One benchmarked stage: the wall time of each timed run (after a warm-up run), the process's
/// CPU time over them, and the profiler's launches of those runs.
/// </summary>
internal sealed record StageResult(string Name, string Label, IReadOnlyList<double> RunsMs, double CpuMs, IReadOnlyList<LaunchRecord> Launches)
{
    /// <summary>Stage-specific figures of the last run (AMG: its encoder, decoder and postprocess split, mask count).</summary>
    public IReadOnlyDictionary<string, double>? Details { get; init; }

    public bool Ran => RunsMs.Count > 0;
    public double? MedianMs => Ran ? Median(RunsMs) : null;
    public double? BestMs => Ran ? RunsMs.Min() : null;

    /// <summary>The kernels' own flop counts, per run.</summary>
    public double FlopsPerRun => Ran ? Launches.Sum(l => l.Flops) / RunsMs.Count : 0;

    /// <summary>Flop per second of the median run, wall clock.</summary>
    public double? Gflops => MedianMs is > 0 ? FlopsPerRun / (MedianMs.Value * 1e6) : null;

    /// <summary>Flop per second of this process's CPU time: what the busy cores achieved, whatever else ran.</summary>
    public double? GflopsPerCpuSecond => Ran && CpuMs > 0 ? FlopsPerRun * RunsMs.Count / (CpuMs * 1e6) : null;

    /// <summary>Per-kernel totals, divided by the number of runs (calls and ms per run).</summary>
    public IReadOnlyList<KernelSummary> KernelsPerRun()
    {
        int runs = Math.Max(1, RunsMs.Count);
        return ProfileReport.ByKernel(Launches).Select(k => k with { Calls = k.Calls / runs, TotalMs = k.TotalMs / runs }).ToList();
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
