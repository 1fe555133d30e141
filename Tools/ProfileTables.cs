using System.Globalization;
using SamEngine.Engine;
using Spectre.Console;

namespace SamEngine.Tools;

/// <summary>The profiler's per-stage and per-kernel tables, as every command prints them.</summary>
internal static class ProfileTables
{
    public static void Print(IReadOnlyList<LaunchRecord> records, int stageDepth = 2, int topKernels = 15)
    {
        if (records.Count == 0) return;
        var stages = new Table().Title("time by stage").AddColumns("stage", "launches", "ms", "share", "GFLOP/s");
        foreach (var s in ProfileReport.ByStage(records, stageDepth))
            stages.AddRow(Markup.Escape(s.Kernel.Length > 0 ? s.Kernel : "(none)"), s.Calls.ToString(), F(s.TotalMs, "0.0"), F(100 * s.Share, "0.0") + "%", F(s.GflopPerSecond, "0.0"));
        AnsiConsole.Write(stages);

        var kernels = new Table().Title($"top kernels (of {records.Count} launches)").AddColumns("kernel", "calls", "ms", "share", "GFLOP/s", "GB/s");
        foreach (var k in ProfileReport.ByKernel(records).Take(topKernels))
            kernels.AddRow(Markup.Escape(k.Kernel), k.Calls.ToString(), F(k.TotalMs, "0.0"), F(100 * k.Share, "0.0") + "%", F(k.GflopPerSecond, "0.0"), F(k.GBPerSecond, "0.0"));
        AnsiConsole.Write(kernels);
    }

    static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
