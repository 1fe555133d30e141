using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// Windowed attention's layout changes, each fused with its window op, for a qkv projection that
/// ran on the token grid itself rather than on the padded windows.
/// Split: qkv [B, H, W, 3·C] → [3, B·nH·nW·heads, win², hd]: window_partition, then the
/// reference's qkv.reshape(B_, win², 3, heads, hd).permute(2, 0, 3, 1, 4). A token in the padding
/// takes <c>pad</c> (3·C values, zero when absent): the reference pads x with zeros before its qkv
/// Linear, which gives such a token the qkv bias.
/// Merge: o [B·nH·nW·heads, win², hd] → x [B, H, W, C]: the reference's merge of the heads,
/// (B_, heads, win², hd) → (B_, win, win, heads·hd), then window_unpartition (the padding dropped).
/// </summary>
internal static class WindowHeads
{
    public static void Split(Tensor qkv, int window, int heads, Tensor? pad, Tensor split)
    {
        var g = WindowHeadsGrid.Of("window split heads", qkv, 3, window, heads, split);
        if (pad != null && (pad.Length != qkv.Dim(3) || pad.Device.Kind != qkv.Device.Kind))
            throw new ArgumentException($"window split heads: padding {pad.ShapeString} is not one value per qkv channel of {qkv.ShapeString}");
        using var _ = Profiler.Launch(qkv.Device, "window_split_heads", 0, 4.0 * (qkv.Length + split.Length));
        if (qkv.Device.IsIlgpu)
        {
            var acc = qkv.Device.RequireAccelerator();
            var kernel = qkv.Device.Kernels.Get("window_split_heads", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, WindowHeadsGrid, GridStride>(SplitKernel));
            var s = GridStride.For(acc, split.Length);
            kernel(s.Threads, qkv.View, (pad ?? qkv).View, split.View, pad != null ? 1 : 0, g, s);
        }
        else SplitCpu(qkv.HostArray, pad?.HostArray, split.HostArray, g);
    }

    public static void Merge(Tensor o, int window, int heads, Tensor x)
    {
        var g = WindowHeadsGrid.Of("window merge heads", x, 1, window, heads, o);
        using var _ = Profiler.Launch(x.Device, "window_merge_heads", 0, 8.0 * x.Length);
        if (x.Device.IsIlgpu)
        {
            var acc = x.Device.RequireAccelerator();
            var kernel = x.Device.Kernels.Get("window_merge_heads", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, WindowHeadsGrid, GridStride>(MergeKernel));
            var s = GridStride.For(acc, x.Length);
            kernel(s.Threads, o.View, x.View, g, s);
        }
        else MergeCpu(o.HostArray, x.HostArray, g);
    }

    // One task per window row: win tokens, each (parts × heads) runs of hd floats.
    static void SplitCpu((float[] Array, int Offset) qkv, (float[] Array, int Offset)? pad, (float[] Array, int Offset) split, WindowHeadsGrid g)
    {
        int items = g.Windows * g.Heads, area = g.Win * g.Win, channels = g.Parts * g.Heads * g.Hd;
        RowBlocks.For(g.Windows * g.Win, (long)g.Win * channels, (start, end) =>
        {
            for (int row = start; row < end; row++)
            {
                int iy = row % g.Win, n = row / g.Win;
                var (b, y, x0) = g.Origin(n, iy);
                for (int ix = 0; ix < g.Win; ix++)
                {
                    int x = x0 + ix, t = iy * g.Win + ix;
                    bool inside = y < g.H && x < g.W;
                    int token = ((b * g.H + y) * g.W + x) * channels;
                    for (int part = 0; part < g.Parts; part++)
                        for (int head = 0; head < g.Heads; head++)
                        {
                            int channel = (part * g.Heads + head) * g.Hd;
                            var dst = split.Array.AsSpan(split.Offset + ((part * items + n * g.Heads + head) * area + t) * g.Hd, g.Hd);
                            if (inside) qkv.Array.AsSpan(qkv.Offset + token + channel, g.Hd).CopyTo(dst);
                            else if (pad is { } p) p.Array.AsSpan(p.Offset + channel, g.Hd).CopyTo(dst);
                            else dst.Clear();
                        }
                }
            }
        });
    }

    // One task per token row of x: each window it crosses gives, per head, runs of hd floats.
    static void MergeCpu((float[] Array, int Offset) o, (float[] Array, int Offset) x, WindowHeadsGrid g)
    {
        int area = g.Win * g.Win, c = g.Heads * g.Hd;
        RowBlocks.For(g.B * g.H, (long)g.W * c, (start, end) =>
        {
            for (int row = start; row < end; row++)
            {
                int y = row % g.H, b = row / g.H;
                for (int xx = 0; xx < g.W; xx++)
                {
                    int n = (b * g.NH + y / g.Win) * g.NW + xx / g.Win, t = y % g.Win * g.Win + xx % g.Win;
                    for (int head = 0; head < g.Heads; head++)
                        o.Array.AsSpan(o.Offset + ((n * g.Heads + head) * area + t) * g.Hd, g.Hd)
                            .CopyTo(x.Array.AsSpan(x.Offset + (row * g.W + xx) * c + head * g.Hd, g.Hd));
                }
            }
        });
    }

    // Both kernels stride over their output, so writes are coalesced.
    [SamKernel("window_split_heads")]
    static void SplitKernel(Index1D thread, ArrayView<float> qkv, ArrayView<float> pad, ArrayView<float> split, int hasPad, WindowHeadsGrid g, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads)
        {
            int c = i % g.Hd, r = i / g.Hd;
            int t = r % (g.Win * g.Win); r /= g.Win * g.Win;
            int head = r % g.Heads; r /= g.Heads;
            int windows = g.B * g.NH * g.NW;
            int n = r % windows, part = r / windows;
            int wx = n % g.NW, wy = n / g.NW % g.NH, b = n / (g.NW * g.NH);
            int y = wy * g.Win + t / g.Win, x = wx * g.Win + t % g.Win;
            int channel = (part * g.Heads + head) * g.Hd + c;
            float value = 0f;
            if (y < g.H && x < g.W) value = qkv[((b * g.H + y) * g.W + x) * g.Parts * g.Heads * g.Hd + channel];
            else if (hasPad != 0) value = pad[channel];
            split[i] = value;
        }
    }

    [SamKernel("window_merge_heads")]
    static void MergeKernel(Index1D thread, ArrayView<float> o, ArrayView<float> x, WindowHeadsGrid g, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads)
        {
            int c = i % g.Hd, r = i / g.Hd;
            int head = r % g.Heads; r /= g.Heads;
            int xx = r % g.W; r /= g.W;
            int y = r % g.H, b = r / g.H;
            int n = (b * g.NH + y / g.Win) * g.NW + xx / g.Win, t = y % g.Win * g.Win + xx % g.Win;
            x[i] = o[((n * g.Heads + head) * g.Win * g.Win + t) * g.Hd + c];
        }
    }

    /// <summary>Float64 split, written as the reference's steps: pad, window_partition, reshape, permute.</summary>
    public static double[] SplitReference(double[] qkv, double[]? pad, int b, int h, int w, int c, int win, int heads)
    {
        int nh = (h + win - 1) / win, nw = (w + win - 1) / win, hp = nh * win, wp = nw * win, hd = c / 3 / heads;
        var padded = new double[(long)b * hp * wp * c];
        for (int bi = 0; bi < b; bi++)
            for (int y = 0; y < hp; y++)
                for (int x = 0; x < wp; x++)
                    for (int ch = 0; ch < c; ch++)
                        padded[((bi * hp + y) * wp + x) * c + ch] = y < h && x < w ? qkv[((bi * h + y) * w + x) * c + ch] : pad?[ch] ?? 0;
        var windows = Window.PartitionReference(padded, b, hp, wp, c, win);
        int items = b * nh * nw, area = win * win;
        var split = new double[windows.Length];
        for (int n = 0; n < items; n++)
            for (int t = 0; t < area; t++)
                for (int part = 0; part < 3; part++)
                    for (int head = 0; head < heads; head++)
                        for (int e = 0; e < hd; e++)
                            split[(((part * items + n) * heads + head) * area + t) * hd + e] = windows[((long)n * area + t) * c + (part * heads + head) * hd + e];
        return split;
    }

    /// <summary>Float64 merge: the heads back into channels per window, then window_unpartition.</summary>
    public static double[] MergeReference(double[] o, int b, int h, int w, int c, int win, int heads)
    {
        int nh = (h + win - 1) / win, nw = (w + win - 1) / win, hd = c / heads, items = b * nh * nw, area = win * win;
        var windows = new double[o.Length];
        for (int n = 0; n < items; n++)
            for (int head = 0; head < heads; head++)
                for (int t = 0; t < area; t++)
                    for (int e = 0; e < hd; e++)
                        windows[((long)n * area + t) * c + head * hd + e] = o[((n * heads + head) * area + t) * hd + e];
        return Window.UnpartitionReference(windows, b, h, w, c, win);
    }
}

/// <summary>
/// The token grid [B, H, W, Parts·Heads·Hd] and its window tiling, validated against the
/// per-head tensor [Parts, B·nH·nW·Heads, win², Hd] (Parts is 3 for q, k, v; 1 for the output).
/// </summary>
internal readonly record struct WindowHeadsGrid(int B, int H, int W, int Parts, int Heads, int Hd, int Win, int NH, int NW)
{
    public int Windows => B * NH * NW;

    /// <summary>Batch item, token row and first token column of row iy of window n.</summary>
    public (int B, int Y, int X0) Origin(int n, int iy) => (n / (NW * NH), n / NW % NH * Win + iy, n % NW * Win);

    public static WindowHeadsGrid Of(string op, Tensor tokens, int parts, int window, int heads, Tensor split)
    {
        if (tokens.Rank != 4) throw new ArgumentException($"{op}: tokens {tokens.ShapeString} are not [B, H, W, C]");
        if (window < 1 || heads < 1 || tokens.Dim(3) % (parts * heads) != 0)
            throw new ArgumentException($"{op}: {tokens.ShapeString} does not split into {parts}×{heads} heads in windows of {window}");
        int b = tokens.Dim(0), h = tokens.Dim(1), w = tokens.Dim(2), hd = tokens.Dim(3) / (parts * heads);
        int nh = (h + window - 1) / window, nw = (w + window - 1) / window;
        int[] expected = parts == 1 ? [b * nh * nw * heads, window * window, hd] : [parts, b * nh * nw * heads, window * window, hd];
        if (!split.Shape.SequenceEqual(expected))
            throw new ArgumentException($"{op}: heads {split.ShapeString} for tokens {tokens.ShapeString} with window {window}, expected {Tensor.ShapeText(expected)}");
        if (split.Length > int.MaxValue || tokens.Device.Kind != split.Device.Kind)
            throw new ArgumentException($"{op}: {split.ShapeString} is too large or on another device than {tokens.ShapeString}");
        return new WindowHeadsGrid(b, h, w, parts, heads, hd, window, nh, nw);
    }
}

internal sealed class WindowHeadsChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // (B, H, W, heads, hd, win): SAM's 64 → 70 padding at a small width, no padding, odd everything.
        foreach (var (b, h, w, heads, hd, win) in new[] { (1, 64, 64, 2, 3, 14), (2, 28, 14, 3, 4, 14), (1, 5, 3, 1, 5, 7), (3, 13, 17, 2, 1, 4) })
        {
            int nh = (h + win - 1) / win, nw = (w + win - 1) / win, c = heads * hd, items = b * nh * nw * heads;
            string shape = Tensor.ShapeText([b, h, w, c]) + $" win {win}, {heads} heads";
            foreach (bool withPad in new[] { true, false })
                yield return new KernelCheck("window_split_heads", shape + (withPad ? ", padding values" : ", zero padding"), 0, d =>
                {
                    var qkv = CheckData.Uniform(13, (long)b * h * w * 3 * c);
                    var pad = CheckData.Uniform(14, 3 * c);
                    using var tq = CheckData.Upload(d, qkv, b, h, w, 3 * c);
                    using var tp = CheckData.Upload(d, pad, 3 * c);
                    using var ts = CheckData.Poisoned(d, 3, items, win * win, hd);
                    WindowHeads.Split(tq, win, heads, withPad ? tp : null, ts);
                    var expected = WindowHeads.SplitReference(CheckData.Widen(qkv), withPad ? CheckData.Widen(pad) : null, b, h, w, 3 * c, win, heads);
                    return Comparison.Of(expected, ts.Download());
                });
            yield return new KernelCheck("window_merge_heads", shape, 0, d =>
            {
                var o = CheckData.Uniform(15, (long)items * win * win * hd);
                using var to = CheckData.Upload(d, o, items, win * win, hd);
                using var tx = CheckData.Poisoned(d, b, h, w, c);
                WindowHeads.Merge(to, win, heads, tx);
                return Comparison.Of(WindowHeads.MergeReference(CheckData.Widen(o), b, h, w, c, win, heads), tx.Download());
            });
        }
    }
}
