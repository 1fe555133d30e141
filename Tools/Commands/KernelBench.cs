using System.Diagnostics;
using System.Globalization;
using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Kernels.Check;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam kernels --bench`: GEMM throughput per device and kernel family at the shapes that
/// dominate the image encoder, and the mask decoder's fused cross attentions at ViT-B's shapes.
/// Median of several timed runs after one warm-up run. The machine may be shared, so next to
/// wall-clock GFLOP/s it prints GFLOP per second of this process's CPU time: what one busy core
/// achieves, whatever else is running.
/// </summary>
internal static class KernelBench
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
        string[] families = ["gemm", .. Attentions.Select(a => a.Name)];
        var chosen = families.Where(f => filter == null || f.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToHashSet();
        if (chosen.Count == 0)
            throw new SamException($"kernels --bench: no benchmark for '{filter}' (there are: {string.Join(", ", families)})");
        var table = new Table().AddColumns("device", "variant", "kernel", "shape", "median ms", "GFLOP/s", "GFLOP/cpu-s", "runs");
        foreach (var device in devices)
            foreach (var view in KernelChecks.Variants(device))
            {
                bool small = view.Kind == DeviceKind.IlgpuCpu && view.Variant == KernelVariant.Tuned;
                if (chosen.Contains("gemm"))
                    foreach (var s in small ? Small : Large)
                    {
                        using var a = Tensor.FromArray(view, CheckData.Uniform(1, (long)s.M * s.K), s.TransA ? [s.K, s.M] : [s.M, s.K]);
                        using var b = Tensor.FromArray(view, CheckData.Uniform(2, (long)s.K * s.N), s.TransB ? [s.N, s.K] : [s.K, s.N]);
                        using var bias = Tensor.FromArray(view, CheckData.Uniform(3, s.N), s.N);
                        using var c = Tensor.Empty(view, s.M, s.N);
                        Row(table, view, "gemm", s.Name, 2.0 * s.M * s.N * s.K,
                            () => Gemm.Forward(a, b, c, transA: s.TransA, transB: s.TransB, bias: bias));
                    }
                // The barrier-heavy composed forms are far too slow on the emulator at these shapes.
                if (view.Kind != DeviceKind.IlgpuCpu)
                    foreach (var attention in Attentions.Where(a => chosen.Contains(a.Name)))
                    {
                        using var run = attention.Make(view);
                        Row(table, view, attention.Name, attention.Shape, attention.Flop, run.Once);
                    }
            }
        return 0;
    }

    static void Row(Table table, Device device, string kernel, string shape, double flop, Action once)
    {
        var (ms, cpuMs, runs) = Time(device, once);
        table.AddRow(device.Kind.Name(), KernelChecks.VariantName(device), kernel, Markup.Escape(shape),
            ms.ToString("0.00", CultureInfo.InvariantCulture), Rate(flop, ms), Rate(flop * runs, cpuMs), runs.ToString());
        AnsiConsole.Write(table);
        table.Rows.Clear();
    }

    /// <summary>A benchmark's inputs on a device and the launch to time; disposing frees the inputs.</summary>
    sealed class Launch(Action once, params Tensor?[] tensors) : IDisposable
    {
        public Action Once => once;
        public void Dispose()
        {
            foreach (var t in tensors) t?.Dispose();
        }
    }

    sealed record Attention(string Name, string Shape, double Flop, Func<Device, Launch> Make);

    // ViT-B's decoder: DecoderChunk = 16 prompts, each with its own 64×64×256 image (the later
    // blocks), R = 8 heads × 7 tokens folded rows.
    const int Prompts = 16, Rows = 56, Tokens = 7, HW = 4096, C = 256;

    static readonly Attention[] Attentions =
    [
        new("token_to_image", $"{Prompts} prompts × {Rows} rows over their own {HW}×{C} image + pe",
            4.0 * Prompts * Rows * HW * C, d =>
            {
                var q = Upload(d, 11, Prompts, Rows, C);
                var image = Upload(d, 12, Prompts, HW, C);
                var pe = Upload(d, 13, HW, C);
                var y = Tensor.Empty(d, Prompts, Rows, C);
                return new Launch(() => TokenToImageAttention.Forward(q, image, pe, 1f / 16, y), q, image, pe, y);
            }),
        new("image_to_token", $"{Prompts} prompts' {HW} image tokens + pe × {Rows} key rows, norm",
            4.0 * Prompts * Rows * HW * C, d =>
            {
                var k = Upload(d, 21, Prompts, Rows, C);
                var kBias = Upload(d, 22, Prompts, Rows);
                var image = Upload(d, 23, Prompts, HW, C);
                var pe = Upload(d, 24, HW, C);
                var u = Upload(d, 25, Prompts, Rows, C);
                var outBias = Upload(d, 26, C);
                var gamma = Upload(d, 27, C);
                var beta = Upload(d, 28, C);
                var y = Tensor.Empty(d, Prompts, HW, C);
                return new Launch(() => ImageToTokenAttention.Forward(k, kBias, Tokens, image, pe, 1f / 16, u, outBias, image, gamma, beta, 1e-5f, y),
                    k, kBias, image, pe, u, outBias, gamma, beta, y);
            }),
    ];

    static Tensor Upload(Device d, int seed, params int[] shape)
    {
        long n = 1;
        foreach (int s in shape) n *= s;
        return Tensor.FromArray(d, CheckData.Uniform(seed, n, -0.5f, 0.5f), shape);
    }

    static string Rate(double flop, double ms)
    {
        double gflops = flop / (ms * 1e6);
        return gflops.ToString(gflops < 1 ? "0.000" : "0.0", CultureInfo.InvariantCulture);
    }

    /// <summary>One warm-up run, then at least 3 timed runs, more while under 2 s in all (up to 15).</summary>
    static (double Ms, double CpuMs, int Runs) Time(Device device, Action launch)
    {
        void Once()
        {
            launch();
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
