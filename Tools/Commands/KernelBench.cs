using System.Diagnostics;
using System.Globalization;
using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Kernels.Check;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam kernels --bench`: GEMM throughput per device and kernel family at the shapes that
/// dominate the image encoder. Median of several timed runs after one warm-up run. The machine
/// may be shared, so next to wall-clock GFLOP/s it prints GFLOP per second of this process's
/// CPU time: what one busy core achieves, whatever else is running.
/// </summary>
public static class KernelBench
{
    sealed record Shape(string Name, int M, int N, int K, bool TransB, bool TransA = false);

    static readonly Shape[] Large =
    [
        new("1024³", 1024, 1024, 1024, false),
        new("qkv 4096×768→2304 (x·Wᵀ)", 4096, 2304, 768, true),
        // The mask decoder's folded cross attention: h·T = 56 token rows against the 64×64 image.
        new("decoder scores 56×4096, K 256 (q·imageᵀ)", 56, 4096, 256, true),
        new("decoder weighted 56×256, K 4096 (p·image)", 56, 256, 4096, false),
        new("decoder output 4096×256, K 56 (pᵀ·u)", 4096, 256, 56, false, TransA: true),
    ];

    // The tiled kernel on ilgpu-cpu: every barrier is an OS-thread sync, so only a small size.
    static readonly Shape[] Small = [new("128³ (small: barriers on ilgpu-cpu)", 128, 128, 128, false)];

    public static int Run(IReadOnlyList<Device> devices, string? filter)
    {
        if (filter != null && !"gemm".Contains(filter, StringComparison.OrdinalIgnoreCase))
            throw new SamException($"kernels --bench: no benchmark for '{filter}' (there is: gemm)");
        var table = new Table().AddColumns("device", "variant", "kernel", "shape", "median ms", "GFLOP/s", "GFLOP/cpu-s", "runs");
        foreach (var device in devices)
            foreach (var view in KernelChecks.Variants(device))
            {
                bool small = view.Kind == DeviceKind.IlgpuCpu && view.Variant == KernelVariant.Tuned;
                foreach (var s in small ? Small : Large)
                {
                    var (ms, cpuMs, runs) = Time(view, s);
                    double flop = 2.0 * s.M * s.N * s.K;
                    table.AddRow(view.Kind.Name(), KernelChecks.VariantName(view), "gemm", Markup.Escape(s.Name),
                        ms.ToString("0.00", CultureInfo.InvariantCulture), Rate(flop, ms), Rate(flop * runs, cpuMs), runs.ToString());
                    AnsiConsole.Write(table);
                    table.Rows.Clear();
                }
            }
        return 0;
    }

    static string Rate(double flop, double ms)
    {
        double gflops = flop / (ms * 1e6);
        return gflops.ToString(gflops < 1 ? "0.000" : "0.0", CultureInfo.InvariantCulture);
    }

    /// <summary>One warm-up run, then at least 3 timed runs, more while under 2 s in all (up to 15).</summary>
    static (double Ms, double CpuMs, int Runs) Time(Device device, Shape s)
    {
        using var a = Tensor.FromArray(device, CheckData.Uniform(1, (long)s.M * s.K), s.TransA ? [s.K, s.M] : [s.M, s.K]);
        using var b = Tensor.FromArray(device, CheckData.Uniform(2, (long)s.K * s.N), s.TransB ? [s.N, s.K] : [s.K, s.N]);
        using var bias = Tensor.FromArray(device, CheckData.Uniform(3, s.N), s.N);
        using var c = Tensor.Empty(device, s.M, s.N);
        void Once()
        {
            Gemm.Forward(a, b, c, transA: s.TransA, transB: s.TransB, bias: bias);
            device.Synchronize();
        }
        Once();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        while (times.Count < 3 || (times.Count < 15 && total.Elapsed.TotalSeconds < 2))
        {
            var sw = Stopwatch.StartNew();
            Once();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        times.Sort();
        return (times[times.Count / 2], cpuMs, times.Count);
    }
}
