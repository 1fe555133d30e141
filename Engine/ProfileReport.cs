using System.Text.Json;

namespace SamEngine.Engine;

/// <summary>Per-kernel totals of a profiled run.</summary>
internal sealed record KernelSummary(string Kernel, int Calls, double TotalMs, double Share, double GflopPerSecond, double GBPerSecond);

/// <summary>Turns profiler records into the per-kernel table and a Chrome trace.</summary>
internal static class ProfileReport
{
    public static IReadOnlyList<KernelSummary> ByKernel(IReadOnlyList<LaunchRecord> records) =>
        Summaries(records, r => r.Kernel);

    public static IReadOnlyList<KernelSummary> ByStage(IReadOnlyList<LaunchRecord> records, int depth = 1) =>
        Summaries(records, r => string.Join('/', r.Stage.Split('/').Take(depth)));

    static IReadOnlyList<KernelSummary> Summaries(IReadOnlyList<LaunchRecord> records, Func<LaunchRecord, string> key)
    {
        double total = records.Sum(r => r.DurationMs);
        return records.GroupBy(key)
            .Select(g =>
            {
                double ms = g.Sum(r => r.DurationMs);
                double seconds = ms / 1000;
                return new KernelSummary(g.Key, g.Count(), ms, total > 0 ? ms / total : 0,
                    seconds > 0 ? g.Sum(r => r.Flops) / seconds / 1e9 : 0,
                    seconds > 0 ? g.Sum(r => r.Bytes) / seconds / 1e9 : 0);
            })
            .OrderByDescending(s => s.TotalMs)
            .ToList();
    }

    /// <summary>Chrome trace event format (chrome://tracing, Perfetto): one complete event per launch.</summary>
    public static void WriteChromeTrace(IReadOnlyList<LaunchRecord> records, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        w.WriteStartObject();
        w.WriteStartArray("traceEvents");
        foreach (var r in records)
        {
            w.WriteStartObject();
            w.WriteString("name", r.Kernel);
            w.WriteString("cat", r.Stage.Length > 0 ? r.Stage : "ops");
            w.WriteString("ph", "X");
            w.WriteNumber("ts", r.StartMs * 1000);
            w.WriteNumber("dur", r.DurationMs * 1000);
            w.WriteNumber("pid", 1);
            w.WriteString("tid", r.Device);
            w.WriteStartObject("args");
            w.WriteString("stage", r.Stage);
            w.WriteNumber("gflop", r.Flops / 1e9);
            w.WriteNumber("mbytes", r.Bytes / 1e6);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("displayTimeUnit", "ms");
        w.WriteEndObject();
    }
}
