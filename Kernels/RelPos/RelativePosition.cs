using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>SAM's decomposed relative position bias: get_rel_pos (with linear interpolation of the stored table when its length is not 2·max(q,k)−1) and add_decomposed_rel_pos.</summary>
internal static class RelativePosition
{
    /// <summary>table [L, C] → rel [qSize, kSize, C] (get_rel_pos).</summary>
    public static void GetRelPos(Tensor table, int qSize, int kSize, Tensor rel)
    {
        if (table.Rank != 2) throw new ArgumentException($"get_rel_pos: table {table.ShapeString} is not [L, C]");
        if (qSize < 1 || kSize < 1) throw new ArgumentException($"get_rel_pos: sizes q {qSize}, k {kSize} must be positive");
        int c = table.Shape[1];
        if (!rel.Shape.SequenceEqual(new[] { qSize, kSize, c }))
            throw new ArgumentException($"get_rel_pos: output {rel.ShapeString} is not [{qSize}×{kSize}×{c}] for table {table.ShapeString}");
        var g = RelPosGrid.Of(table.Shape[0], c, qSize, kSize);
        using var _ = Profiler.Launch(rel.Device, "get_rel_pos", 3.0 * rel.Length, 4.0 * (table.Length + rel.Length));
        if (rel.Device.IsIlgpu)
        {
            var acc = rel.Device.RequireAccelerator();
            var kernel = rel.Device.Kernels.Get("get_rel_pos", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, RelPosGrid, GridStride>(GetRelPosKernel));
            var s = GridStride.For(acc, rel.Length);
            kernel(s.Threads, table.View, rel.View, g, s);
        }
        else GetRelPosCpu(table.Span, rel.Span, g);
    }

    /// <summary>attn [B, qh·qw, kh·kw] += q·Rh (per key row) + q·Rw (per key column); q [B, qh·qw, C] unscaled, relH [qh, kh, C], relW [qw, kw, C].</summary>
    public static void AddDecomposed(Tensor attn, Tensor q, Tensor relH, Tensor relW, int qh, int qw, int kh, int kw)
    {
        if (q.Rank != 3 || q.Shape[1] != qh * qw)
            throw new ArgumentException($"add_decomposed_rel_pos: q {q.ShapeString} is not [B, {qh}·{qw}, C]");
        int b = q.Shape[0], c = q.Shape[2];
        if (!attn.Shape.SequenceEqual(new[] { b, qh * qw, kh * kw }))
            throw new ArgumentException($"add_decomposed_rel_pos: attn {attn.ShapeString} is not [{b}×{qh * qw}×{kh * kw}]");
        if (!relH.Shape.SequenceEqual(new[] { qh, kh, c }) || !relW.Shape.SequenceEqual(new[] { qw, kw, c }))
            throw new ArgumentException($"add_decomposed_rel_pos: Rh {relH.ShapeString}, Rw {relW.ShapeString} are not [{qh}×{kh}×{c}], [{qw}×{kw}×{c}]");
        if (attn.Length > int.MaxValue) throw new ArgumentException($"add_decomposed_rel_pos: attn {attn.ShapeString} is too large");
        var g = new RelPosAdd(qh, qw, kh, kw, c);
        long rows = (long)b * qh * qw;
        using var _ = Profiler.Launch(attn.Device, "add_decomposed_rel_pos", 2.0 * rows * (kh + kw) * c + 2.0 * attn.Length,
            4.0 * (2 * attn.Length + q.Length + relH.Length + relW.Length));
        if (attn.Device.IsIlgpu) AddDecomposedIlgpu(attn, q, relH, relW, g, rows);
        else AddDecomposedCpu(attn.HostArray, q.HostArray, relH.HostArray, relW.HostArray, g, (int)rows);
    }

    // rel_h and rel_w of one query are kh + kw dot products; the broadcast add then streams its
    // attention row once, so the [B, N, N] map is read and written exactly once.
    static void AddDecomposedCpu((float[] Array, int Offset) attn, (float[] Array, int Offset) q, (float[] Array, int Offset) relH,
        (float[] Array, int Offset) relW, RelPosAdd g, int rows)
    {
        int n = g.KH * g.KW;
        CpuCores.For(0, rows, () => new float[g.KH + g.KW], (r, _, scratch) =>
        {
            int i = r / g.QW % g.QH, j = r % g.QW;
            var qRow = q.Array.AsSpan(q.Offset + r * g.C, g.C);
            for (int k = 0; k < g.KH; k++) scratch[k] = TensorPrimitives.Dot(qRow, relH.Array.AsSpan(relH.Offset + (i * g.KH + k) * g.C, g.C));
            for (int l = 0; l < g.KW; l++) scratch[g.KH + l] = TensorPrimitives.Dot(qRow, relW.Array.AsSpan(relW.Offset + (j * g.KW + l) * g.C, g.C));
            var row = attn.Array.AsSpan(attn.Offset + r * n, n);
            var relWRow = scratch.AsSpan(g.KH, g.KW);
            for (int k = 0; k < g.KH; k++) AddRowAndColumn(row.Slice(k * g.KW, g.KW), scratch[k], relWRow);
            return scratch;
        }, _ => { });
    }

    // segment[l] += h + w[l]
    static void AddRowAndColumn(Span<float> segment, float h, ReadOnlySpan<float> w)
    {
        ref float s = ref MemoryMarshal.GetReference(segment);
        ref float wr = ref MemoryMarshal.GetReference(w);
        int l = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vh = Vector512.Create(h);
            for (; l <= segment.Length - 16; l += 16)
                Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref s, (nuint)l) + vh + Vector512.LoadUnsafe(ref wr, (nuint)l), ref s, (nuint)l);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vh = Vector256.Create(h);
            for (; l <= segment.Length - 8; l += 8)
                Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref s, (nuint)l) + vh + Vector256.LoadUnsafe(ref wr, (nuint)l), ref s, (nuint)l);
        }
        for (; l < segment.Length; l++) segment[l] += h + w[l];
    }

    static void AddDecomposedIlgpu(Tensor attn, Tensor q, Tensor relH, Tensor relW, RelPosAdd g, long rows)
    {
        var device = attn.Device;
        var acc = device.RequireAccelerator();
        var project = device.Kernels.Get("rel_pos_project", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RelPosAdd, GridStride>(ProjectKernel));
        var add = device.Kernels.Get("rel_pos_add", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, RelPosAdd, GridStride>(AddKernel));
        using var rel = Tensor.Empty(device, checked((int)rows), g.KH + g.KW);
        var projectGrid = GridStride.For(acc, rel.Length);
        project(projectGrid.Threads, q.View, relH.View, relW.View, rel.View, g, projectGrid);
        var addGrid = GridStride.For(acc, attn.Length);
        add(addGrid.Threads, attn.View, rel.View, g, addGrid);
    }

    /// <summary>rel[r, t] = q[r]·Rh[i, t] for t &lt; kh, else q[r]·Rw[j, t − kh], where query r sits at (i, j).</summary>
    [SamKernel("rel_pos_project")]
    static void ProjectKernel(Index1D thread, ArrayView<float> q, ArrayView<float> relH, ArrayView<float> relW, ArrayView<float> rel,
        RelPosAdd g, GridStride s)
    {
        int span = g.KH + g.KW;
        for (int index = thread; index < s.Count; index += s.Threads)
        {
            int r = index / span, t = index % span;
            int i = r / g.QW % g.QH, j = r % g.QW;
            int qBase = r * g.C;
            int tBase = t < g.KH ? (i * g.KH + t) * g.C : (j * g.KW + t - g.KH) * g.C;
            var table = t < g.KH ? relH : relW;
            float sum = 0f;
            for (int c = 0; c < g.C; c++) sum += q[qBase + c] * table[tBase + c];
            rel[index] = sum;
        }
    }

    [SamKernel("rel_pos_add")]
    static void AddKernel(Index1D thread, ArrayView<float> attn, ArrayView<float> rel, RelPosAdd g, GridStride s)
    {
        int n = g.KH * g.KW;
        for (int index = thread; index < s.Count; index += s.Threads)
        {
            int r = index / n, col = index % n;
            int baseIndex = r * (g.KH + g.KW);
            attn[index] = attn[index] + rel[baseIndex + col / g.KW] + rel[baseIndex + g.KH + col % g.KW];
        }
    }

    static void GetRelPosCpu(ReadOnlySpan<float> table, Span<float> rel, RelPosGrid g)
    {
        for (int i = 0; i < g.Q; i++)
            for (int j = 0; j < g.K; j++)
            {
                var dst = rel.Slice((i * g.K + j) * g.C, g.C);
                int r = g.Index(i, j);
                if (g.L == g.MaxRel) { table.Slice(r * g.C, g.C).CopyTo(dst); continue; }
                var t = LinearTaps.Of(g.L, g.MaxRel, r);
                TensorPrimitives.Multiply(table.Slice(t.I0 * g.C, g.C), t.W0, dst);
                TensorPrimitives.MultiplyAdd(table.Slice(t.I1 * g.C, g.C), t.W1, dst, dst);
            }
    }

    [SamKernel("get_rel_pos")]
    static void GetRelPosKernel(Index1D thread, ArrayView<float> table, ArrayView<float> rel, RelPosGrid g, GridStride s)
    {
        for (int index = thread; index < s.Count; index += s.Threads)
        {
            int c = index % g.C, t = index / g.C;
            int j = t % g.K, i = t / g.K;
            int r = g.Index(i, j);
            if (g.L == g.MaxRel) rel[index] = table[r * g.C + c];
            else
            {
                var taps = LinearTaps.Of(g.L, g.MaxRel, r);
                rel[index] = taps.W0 * table[taps.I0 * g.C + c] + taps.W1 * table[taps.I1 * g.C + c];
            }
        }
    }

    public static double[] GetRelPosReference(double[] table, int l, int c, int qSize, int kSize)
    {
        var g = RelPosGrid.Of(l, c, qSize, kSize);
        var rel = new double[qSize * kSize * c];
        for (int i = 0; i < qSize; i++)
            for (int j = 0; j < kSize; j++)
            {
                int r = g.Index(i, j);
                var t = l == g.MaxRel ? (I0: r, I1: r, W0: 1.0, W1: 0.0) : LinearTaps.Exact(l, g.MaxRel, r);
                for (int ci = 0; ci < c; ci++)
                    rel[(i * kSize + j) * c + ci] = t.W0 * table[t.I0 * c + ci] + t.W1 * table[t.I1 * c + ci];
            }
        return rel;
    }

    public static double[] AddDecomposedReference(double[] attn, double[] q, double[] relH, double[] relW, int b, int qh, int qw, int kh, int kw, int c)
    {
        var y = (double[])attn.Clone();
        for (int bi = 0; bi < b; bi++)
            for (int i = 0; i < qh; i++)
                for (int j = 0; j < qw; j++)
                {
                    int r = (bi * qh + i) * qw + j;
                    for (int k = 0; k < kh; k++)
                        for (int l = 0; l < kw; l++)
                        {
                            double h = 0, w = 0;
                            for (int ci = 0; ci < c; ci++)
                            {
                                h += q[r * c + ci] * relH[(i * kh + k) * c + ci];
                                w += q[r * c + ci] * relW[(j * kw + l) * c + ci];
                            }
                            y[(long)r * kh * kw + k * kw + l] += h + w;
                        }
                }
        return y;
    }
}

/// <summary>
/// get_rel_pos's index map. The reference forms the coordinates as float32 tensors
/// (arange · max(k/q, 1) − arange · max(q/k, 1) + (k − 1)·max(q/k, 1)) and truncates them to
/// integers, so the factors are float32 here too.
/// </summary>
internal readonly struct RelPosGrid
{
    public readonly int L, C, Q, K, MaxRel;
    public readonly float QScale, KScale, Offset;

    RelPosGrid(int l, int c, int q, int k)
    {
        L = l; C = c; Q = q; K = k;
        MaxRel = 2 * Math.Max(q, k) - 1;
        QScale = (float)Math.Max((double)k / q, 1.0);
        KScale = (float)Math.Max((double)q / k, 1.0);
        Offset = (float)((k - 1) * Math.Max((double)q / k, 1.0));
    }

    public static RelPosGrid Of(int l, int c, int q, int k)
    {
        if (l < 1) throw new ArgumentException($"get_rel_pos: empty table of length {l}");
        return new RelPosGrid(l, c, q, k);
    }

    public int Index(int i, int j)
    {
        float coord = i * QScale - j * KScale;
        return (int)(coord + Offset);
    }
}

/// <summary>Query grid qh×qw, key grid kh×kw, head dim C of add_decomposed_rel_pos.</summary>
internal readonly record struct RelPosAdd(int QH, int QW, int KH, int KW, int C);

internal sealed class RelativePositionChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // (L, C, q, k): stored length, stretched, shrunk, q ≠ k both ways, a single position.
        foreach (var (l, c, qs, ks) in new[] { (27, 16, 14, 14), (13, 5, 14, 14), (130, 7, 14, 14), (9, 3, 3, 7), (13, 33, 7, 3), (1, 4, 1, 1), (5, 3, 1, 1), (127, 65, 64, 64) })
        {
            yield return new KernelCheck("get_rel_pos", $"[{l}×{c}] q {qs} k {ks}", 1e-6, d =>
            {
                var table = CheckData.Uniform(31, l * c);
                using var tt = CheckData.Upload(d, table, l, c);
                using var tr = CheckData.Poisoned(d, qs, ks, c);
                RelativePosition.GetRelPos(tt, qs, ks, tr);
                return Comparison.Of(RelativePosition.GetRelPosReference(CheckData.Widen(table), l, c, qs, ks), tr.Download());
            });
        }

        // (B, qh, qw, kh, kw, C): windowed 14×14, odd grids, q ≠ k, one token, a small global map.
        foreach (var (b, qh, qw, kh, kw, c) in new[] { (2, 14, 14, 14, 14, 16), (2, 7, 5, 7, 5, 33), (3, 4, 6, 5, 3, 7), (1, 1, 1, 1, 1, 1), (1, 16, 16, 16, 16, 64), (1, 3, 1, 2, 17, 5) })
        {
            yield return new KernelCheck("add_decomposed_rel_pos", $"B {b} q {qh}×{qw} k {kh}×{kw} C {c}", 2e-6, d =>
            {
                var attn = CheckData.Uniform(41, (long)b * qh * qw * kh * kw);
                var q = CheckData.Uniform(42, b * qh * qw * c);
                var relH = CheckData.Uniform(43, qh * kh * c);
                var relW = CheckData.Uniform(44, qw * kw * c);
                using var ta = CheckData.Upload(d, attn, b, qh * qw, kh * kw);
                using var tq = CheckData.Upload(d, q, b, qh * qw, c);
                using var th = CheckData.Upload(d, relH, qh, kh, c);
                using var tw = CheckData.Upload(d, relW, qw, kw, c);
                RelativePosition.AddDecomposed(ta, tq, th, tw, qh, qw, kh, kw);
                return Comparison.Of(RelativePosition.AddDecomposedReference(CheckData.Widen(attn), CheckData.Widen(q), CheckData.Widen(relH),
                    CheckData.Widen(relW), b, qh, qw, kh, kw, c), ta.Download());
            });
        }
    }
}
