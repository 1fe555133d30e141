using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>SAM's window_partition / window_unpartition: [B, H, W, C] ⇄ [B·nH·nW, win, win, C], zero-padding H, W up to multiples of win (64 → 70 for win 14) and cropping back.</summary>
internal static class Window
{
    /// <summary>windows[(b, wy, wx), iy, ix, c] = x[b, wy·win + iy, wx·win + ix, c], zero where that lies in the padding.</summary>
    public static void Partition(Tensor x, int window, Tensor windows)
    {
        var g = WindowGrid.Of("window partition", x, window, windows);
        using var _ = Profiler.Launch(x.Device, "window_partition", 0, 4.0 * (x.Length + windows.Length));
        if (x.Device.IsIlgpu)
        {
            var acc = x.Device.RequireAccelerator();
            var kernel = x.Device.Kernels.Get("window_partition", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowGrid, GridStride>(PartitionKernel));
            var s = GridStride.For(acc, windows.Length);
            kernel(s.Threads, x.View, windows.View, g, s);
        }
        else PartitionCpu(x.HostArray, windows.HostArray, g);
    }

    /// <summary>x[b, y, x, c] = windows[(b, y / win, x / win), y mod win, x mod win, c]; the padded border is dropped.</summary>
    public static void Unpartition(Tensor windows, int window, Tensor x)
    {
        var g = WindowGrid.Of("window unpartition", x, window, windows);
        using var _ = Profiler.Launch(x.Device, "window_unpartition", 0, 8.0 * x.Length);
        if (x.Device.IsIlgpu)
        {
            var acc = x.Device.RequireAccelerator();
            var kernel = x.Device.Kernels.Get("window_unpartition", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowGrid, GridStride>(UnpartitionKernel));
            var s = GridStride.For(acc, x.Length);
            kernel(s.Threads, windows.View, x.View, g, s);
        }
        else UnpartitionCpu(windows.HostArray, x.HostArray, g);
    }

    // One row of a window (win pixels × C channels) is one contiguous run of x up to the right border.
    static void PartitionCpu((float[] Array, int Offset) x, (float[] Array, int Offset) windows, WindowGrid g)
    {
        int rowLength = g.Win * g.C;
        CpuCores.For(0, g.B * g.NH * g.NW * g.Win, row =>
        {
            int iy = row % g.Win, n = row / g.Win;
            int wx = n % g.NW, wy = n / g.NW % g.NH, b = n / (g.NW * g.NH);
            int y = wy * g.Win + iy, x0 = wx * g.Win;
            var dst = windows.Array.AsSpan(windows.Offset + row * rowLength, rowLength);
            int inside = y < g.H ? Math.Min(g.Win, g.W - x0) * g.C : 0;
            if (inside > 0) x.Array.AsSpan(x.Offset + ((b * g.H + y) * g.W + x0) * g.C, inside).CopyTo(dst);
            dst[inside..].Clear();
        });
    }

    static void UnpartitionCpu((float[] Array, int Offset) windows, (float[] Array, int Offset) x, WindowGrid g)
    {
        CpuCores.For(0, g.B * g.H, row =>
        {
            int y = row % g.H, b = row / g.H;
            int wy = y / g.Win, iy = y % g.Win;
            for (int wx = 0; wx < g.NW; wx++)
            {
                int x0 = wx * g.Win, count = Math.Min(g.Win, g.W - x0) * g.C;
                int src = ((((b * g.NH + wy) * g.NW + wx) * g.Win + iy) * g.Win) * g.C;
                windows.Array.AsSpan(windows.Offset + src, count).CopyTo(x.Array.AsSpan(x.Offset + (row * g.W + x0) * g.C, count));
            }
        });
    }

    // Both kernels stride over their output, so writes are coalesced.
    [SamKernel("window_partition")]
    static void PartitionKernel(Index1D thread, ArrayView<float> x, ArrayView<float> windows, WindowGrid g, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads)
        {
            int c = i % g.C, t = i / g.C;
            int ix = t % g.Win; t /= g.Win;
            int iy = t % g.Win; t /= g.Win;
            int wx = t % g.NW; t /= g.NW;
            int wy = t % g.NH, b = t / g.NH;
            int y = wy * g.Win + iy, xx = wx * g.Win + ix;
            windows[i] = y < g.H && xx < g.W ? x[((b * g.H + y) * g.W + xx) * g.C + c] : 0f;
        }
    }

    [SamKernel("window_unpartition")]
    static void UnpartitionKernel(Index1D thread, ArrayView<float> windows, ArrayView<float> x, WindowGrid g, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads)
        {
            int c = i % g.C, t = i / g.C;
            int xx = t % g.W; t /= g.W;
            int y = t % g.H, b = t / g.H;
            int n = (b * g.NH + y / g.Win) * g.NW + xx / g.Win;
            x[i] = windows[((n * g.Win + y % g.Win) * g.Win + xx % g.Win) * g.C + c];
        }
    }

    public static double[] PartitionReference(double[] x, int b, int h, int w, int c, int win)
    {
        int nh = (h + win - 1) / win, nw = (w + win - 1) / win;
        var windows = new double[b * nh * nw * win * win * c];
        for (int bi = 0; bi < b; bi++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                    for (int ci = 0; ci < c; ci++)
                    {
                        int n = (bi * nh + y / win) * nw + xx / win;
                        windows[((n * win + y % win) * win + xx % win) * c + ci] = x[((bi * h + y) * w + xx) * c + ci];
                    }
        return windows;
    }

    public static double[] UnpartitionReference(double[] windows, int b, int h, int w, int c, int win)
    {
        int nh = (h + win - 1) / win, nw = (w + win - 1) / win;
        var x = new double[b * h * w * c];
        for (int bi = 0; bi < b; bi++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                    for (int ci = 0; ci < c; ci++)
                    {
                        int n = (bi * nh + y / win) * nw + xx / win;
                        x[((bi * h + y) * w + xx) * c + ci] = windows[((n * win + y % win) * win + xx % win) * c + ci];
                    }
        return x;
    }
}

/// <summary>The token grid [B, H, W, C] and its window tiling, validated against both tensors.</summary>
internal readonly record struct WindowGrid(int B, int H, int W, int C, int Win, int NH, int NW)
{
    public static WindowGrid Of(string op, Tensor x, int window, Tensor windows)
    {
        if (x.Rank != 4) throw new ArgumentException($"{op}: tokens {x.ShapeString} are not [B, H, W, C]");
        if (window < 1) throw new ArgumentException($"{op}: window {window} must be positive");
        int b = x.Shape[0], h = x.Shape[1], w = x.Shape[2], c = x.Shape[3];
        int nh = (h + window - 1) / window, nw = (w + window - 1) / window;
        int[] expected = [b * nh * nw, window, window, c];
        if (!windows.Shape.SequenceEqual(expected))
            throw new ArgumentException($"{op}: windows {windows.ShapeString} for tokens {x.ShapeString} with window {window}, expected {Tensor.ShapeText(expected)}");
        if (windows.Length > int.MaxValue) throw new ArgumentException($"{op}: {windows.ShapeString} is too large");
        return new WindowGrid(b, h, w, c, window, nh, nw);
    }
}

internal sealed class WindowChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // (B, H, W, C, win): SAM's 64 → 70 padding at a small width, no padding, a single window, odd everything.
        foreach (var (b, h, w, c, win) in new[] { (1, 64, 64, 7, 14), (2, 28, 14, 5, 14), (1, 5, 3, 33, 7), (3, 13, 17, 1, 4), (1, 1, 1, 130, 1) })
        {
            int nh = (h + win - 1) / win, nw = (w + win - 1) / win;
            int[] xShape = [b, h, w, c], winShape = [b * nh * nw, win, win, c];
            string shape = Tensor.ShapeText(xShape) + " win " + win;
            yield return new KernelCheck("window_partition", shape, 0, d =>
            {
                var x = CheckData.Uniform(11, Tensor.Count(xShape));
                using var tx = CheckData.Upload(d, x, xShape);
                using var tw = CheckData.Poisoned(d, winShape);
                Window.Partition(tx, win, tw);
                return Comparison.Of(Window.PartitionReference(CheckData.Widen(x), b, h, w, c, win), tw.Download());
            });
            yield return new KernelCheck("window_unpartition", shape, 0, d =>
            {
                var windows = CheckData.Uniform(12, Tensor.Count(winShape));
                using var tw = CheckData.Upload(d, windows, winShape);
                using var tx = CheckData.Poisoned(d, xShape);
                Window.Unpartition(tw, win, tx);
                return Comparison.Of(Window.UnpartitionReference(CheckData.Widen(windows), b, h, w, c, win), tx.Download());
            });
        }
    }
}
