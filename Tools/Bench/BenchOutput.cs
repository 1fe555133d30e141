using System.Globalization;
using System.Text.Json;
using SamEngine.Engine;
using Spectre.Console;

namespace SamEngine.Tools.Bench;

/// <summary>A bench report as tables for people or as one JSON object for scripts.</summary>
internal static class BenchOutput
{
    const double MB = 1 << 20;

    public static void WriteText(BenchReport r, bool allKernels)
    {
        var d = r.Device;
        Console.WriteLine($"sam bench: {r.Arch} on {d}, {r.Threads} threads, load average {Load(r.LoadBefore)} → {Load(r.LoadAfter)}");
        if (r.PeakGflops != null)
            Console.WriteLine($"FMA peak: {r.PeakGflops:0} GFLOP/s measured on {r.Threads} cores" +
                (r.NominalPeakGflops != null ? $" (at the clock /proc/cpuinfo reports × 32 flop/cycle: {r.NominalPeakGflops:0})" : ""));
        if (r.LoadBefore > r.Threads || r.LoadAfter > r.Threads)
            Console.WriteLine("the machine is busy: wall times include waiting for a core; GFLOP/cpu-s is what the cores did while they ran this");
        if (r.WeightsBytes > 0) Console.WriteLine($"weights on the device: {r.WeightsBytes / MB:0} MB");

        var stages = new Table().AddColumns("stage", "median ms", "best ms", "runs", "GFLOP/run", "GFLOP/s", "% of peak", "GFLOP/cpu-s", "% of core peak");
        foreach (var s in r.Stages.Where(s => s.Ran))
        {
        {
            bool flops = s.FlopsPerRun > 0;
            stages.AddRow(Markup.Escape(s.Label), Ms(s.MedianMs!.Value), Ms(s.BestMs!.Value), s.RunsMs.Count.ToString(),
                flops ? Num(s.FlopsPerRun / 1e9) : "-", flops ? Num(s.Gflops) : "-", flops ? Percent(s.Gflops, r.PeakGflops) : "-",
                flops ? Num(s.GflopsPerCpuSecond) : "-", flops ? Percent(s.GflopsPerCpuSecond, r.CorePeakGflops) : "-");
        }
        }
        AnsiConsole.Write(stages);

        foreach (var s in r.Stages.Where(s => s.Details != null))
            Console.WriteLine($"{s.Name}, last run: " + string.Join(", ", s.Details!.Select(d => $"{d.Key} {Num(d.Value)}")));
        if (r.Stage("encoder").Ran) Console.WriteLine($"encoder memory beyond the weights: buffer pool peak {r.EncoderPoolPeakBytes / MB:0} MB, " +
            $"resident peak {(r.EncoderRssPeakBytes is long rss ? $"+{rss / MB:0} MB" : "unknown")}; " +
            $"process resident peak {(r.ProcessPeakRssBytes is long p ? $"{p / MB:0} MB" : "unknown")}");

        foreach (var s in r.Stages.Where(s => s.Ran && s.Launches.Count > 0))
        {
            var kernels = s.KernelsPerRun();
            var shown = allKernels ? kernels : kernels.Take(s.Name == "encoder" ? 8 : 5).ToList();
            var table = new Table { Title = new TableTitle(Markup.Escape($"{s.Label}: kernels per run" + (shown.Count < kernels.Count ? $" (top {shown.Count} of {kernels.Count})" : ""))) }
                .AddColumns("kernel", "calls", "ms", "share", "GFLOP/s", "% of peak", "GB/s");
            foreach (var k in shown)
                table.AddRow(Markup.Escape(k.Kernel), k.Calls.ToString(), Ms(k.TotalMs), $"{100 * k.Share:0.0}%",
                    k.GflopPerSecond > 0 ? Num(k.GflopPerSecond) : "-", k.GflopPerSecond > 0 ? Percent(k.GflopPerSecond, r.PeakGflops) : "-", Num(k.GBPerSecond));
            AnsiConsole.Write(table);
            if (!allKernels) continue;

            int runs = Math.Max(1, s.RunsMs.Count);
            var byStage = new Table { Title = new TableTitle(Markup.Escape($"{s.Label}: model stages per run")) }
                .AddColumns("stage", "ms", "share", "GFLOP/s");
            foreach (var g in ProfileReport.ByStage(s.Launches, depth: 2))
                byStage.AddRow(Markup.Escape(g.Kernel.Length > 0 ? g.Kernel : "(none)"), Ms(g.TotalMs / runs), $"{100 * g.Share:0.0}%", Num(g.GflopPerSecond));
            AnsiConsole.Write(byStage);
        }
    }

    public static string Json(BenchReport r)
    {
        var enc = r.Stage("encoder");
        var o = new Dictionary<string, object?>
        {
            ["arch"] = r.Arch,
            ["device"] = r.Device.Kind.Name(),
            ["device_name"] = r.Device.Name,
            ["threads"] = r.Threads,
            ["load_average"] = new[] { r.LoadBefore, r.LoadAfter },
            ["peak_gflops"] = Round(r.PeakGflops),
            ["peak_gflops_nominal"] = Round(r.NominalPeakGflops),
            ["weights_bytes"] = r.WeightsBytes,
            ["encoder_pool_peak_bytes"] = r.EncoderPoolPeakBytes,
            ["encoder_rss_peak_bytes"] = r.EncoderRssPeakBytes,
            ["process_peak_rss_bytes"] = r.ProcessPeakRssBytes,
            ["encoder_gflop"] = Round(enc.FlopsPerRun / 1e9),
            ["encoder_gflops"] = Round(enc.Gflops),
            ["encoder_percent_of_peak"] = r.PeakGflops is > 0 && enc.Gflops != null ? Round(100 * enc.Gflops / r.PeakGflops) : null,
            ["encoder_percent_of_core_peak"] = r.CorePeakGflops is > 0 && enc.GflopsPerCpuSecond != null ? Round(100 * enc.GflopsPerCpuSecond / r.CorePeakGflops) : null,
        };
        foreach (var s in r.Stages)
        {
            o[s.Name + "_ms"] = Round(s.MedianMs);
            o[s.Name + "_best_ms"] = Round(s.BestMs);
            o[s.Name + "_runs_ms"] = s.RunsMs.Select(t => Math.Round(t, 3)).ToArray();
            o[s.Name + "_cpu_ms_per_run"] = s.Ran ? Round(s.CpuMs / s.RunsMs.Count) : null;
            o[s.Name + "_gflops_per_cpu_s"] = Round(s.GflopsPerCpuSecond);
            foreach (var (key, value) in s.Details ?? new Dictionary<string, double>()) o[$"{s.Name}_{key}"] = Math.Round(value, 3);
        }
        o["encoder_kernels"] = enc.KernelsPerRun().Select(k => new Dictionary<string, object?>
        {
            ["kernel"] = k.Kernel,
            ["calls"] = k.Calls,
            ["ms"] = Math.Round(k.TotalMs, 3),
            ["share"] = Math.Round(k.Share, 4),
            ["gflops"] = Math.Round(k.GflopPerSecond, 2),
        }).ToArray();
        return JsonSerializer.Serialize(o, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
    }

    static double? Round(double? v) => v == null ? null : Math.Round(v.Value, 3);

    static string Load(double? l) => l?.ToString("0.0", CultureInfo.InvariantCulture) ?? "?";

    static string Ms(double ms) => ms.ToString(ms < 10 ? "0.00" : ms < 1000 ? "0.0" : "0", CultureInfo.InvariantCulture);

    static string Num(double? v) => v == null ? "-" : v.Value.ToString(v.Value < 1 ? "0.000" : v.Value < 100 ? "0.0" : "0", CultureInfo.InvariantCulture);

    static string Percent(double? gflops, double? peak) =>
        gflops != null && peak is > 0 ? (100 * gflops.Value / peak.Value).ToString("0", CultureInfo.InvariantCulture) + "%" : "-";
}
