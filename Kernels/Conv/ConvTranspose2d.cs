using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>PyTorch ConvTranspose2d with kernel == stride (SAM's 2×2 stride 2 upscaling): x [B, Cin, H, W], weight [Cin, Cout, k, k], optional bias → y [B, Cout, k·H, k·W].</summary>
internal static class ConvTranspose2d
{
    /// <summary>
    /// With kernel == stride and no padding every output pixel (k·y + ky, k·x + kx) receives exactly
    /// one tap: y[b, co, k·y + ky, k·x + kx] = bias[co] + Σci x[b, ci, y, x] · w[ci, co, ky, kx].
    /// </summary>
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y)
    {
        var s = ConvTransposeShape.Of(x, weight, bias, y);
        if (y.Device.IsIlgpu)
        {
            using var _ = Profiler.Launch(y.Device, "conv_transpose2d", s.Flops, 4.0 * (x.Length + weight.Length + y.Length));
            var acc = y.Device.RequireAccelerator();
            var kernel = y.Device.Kernels.Get("conv_transpose2d", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvTransposeShape, GridStride>(TransposeKernel));
            var grid = GridStride.For(acc, (long)s.B * ((s.Cout + 3) / 4) * s.H * s.K * s.W * s.K);
            kernel(grid.Threads, x.View, weight.View, (bias ?? weight).View, y.View, s, grid);
        }
        else Cpu(x, weight, bias, y, s);
    }

    // Native: one GEMM gives every tap of every pixel, taps[b] [Cout·k·k, H·W] = Wᵀ · x[b]; a
    // scatter then interleaves the k×k taps into the output grid and adds the bias.
    static void Cpu(Tensor x, Tensor weight, Tensor? bias, Tensor y, ConvTransposeShape s)
    {
        int taps = s.Cout * s.K * s.K, n = s.H * s.W;
        using var t = Tensor.Empty(y.Device, s.B, taps, n);
        Gemm.Forward(weight.Reshape(s.Cin, taps), x.Reshape(s.B, s.Cin, n), t, transA: true);
        using var _ = Profiler.Launch(y.Device, "conv_transpose2d_scatter", y.Length, 8.0 * y.Length);
        var src = t.HostArray;
        var dst = y.HostArray;
        float[]? b = bias?.Span.ToArray();
        int wo = s.W * s.K;
        CpuCores.For(0, s.B * s.Cout * s.H, row =>
        {
            int iy = row % s.H, plane = row / s.H, co = plane % s.Cout, bi = plane / s.Cout;
            float add = b?[co] ?? 0f;
            for (int ky = 0; ky < s.K; ky++)
            {
                var outRow = dst.Array.AsSpan(dst.Offset + (plane * s.H * s.K + iy * s.K + ky) * wo, wo);
                for (int kx = 0; kx < s.K; kx++)
                {
                    var tap = src.Array.AsSpan(src.Offset + ((bi * s.Cout + co) * s.K * s.K + ky * s.K + kx) * n + iy * s.W, s.W);
                    for (int ix = 0; ix < s.W; ix++) outRow[ix * s.K + kx] = tap[ix] + add;
                }
            }
        });
    }

    /// <summary>Work items of one output pixel and 4 output channels: each input value loaded feeds 4 FMAs.</summary>
    [SamKernel("conv_transpose2d")]
    static void TransposeKernel(Index1D thread, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y,
        ConvTransposeShape s, GridStride g)
    {
        int wo = s.W * s.K, ho = s.H * s.K, coBlocks = (s.Cout + 3) / 4;
        int kk = s.K * s.K, last = s.Cout - 1, wStride = s.Cout * kk, plane = s.H * s.W, next = ho * wo;
        bool hasBias = s.HasBias != 0;
        for (int index = thread; index < g.Count; index += g.Threads)
        {
            int ox = index % wo, t = index / wo;
            int oy = t % ho;
            t /= ho;
            int co0 = t % coBlocks * 4, b = t / coBlocks;
            int iy = oy / s.K, ky = oy % s.K, ix = ox / s.K, kx = ox % s.K;

            int tap = ky * s.K + kx;
            int c0 = co0 * kk + tap, c1 = Math.Min(co0 + 1, last) * kk + tap;
            int c2 = Math.Min(co0 + 2, last) * kk + tap, c3 = Math.Min(co0 + 3, last) * kk + tap;
            int xi = b * s.Cin * plane + iy * s.W + ix;
            float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int ci = 0; ci < s.Cin; ci++, xi += plane)
            {
                float v = x[xi];
                int wi = ci * wStride;
                a0 += v * w[wi + c0];
                a1 += v * w[wi + c1];
                a2 += v * w[wi + c2];
                a3 += v * w[wi + c3];
            }
            int o = ((b * s.Cout + co0) * ho + oy) * wo + ox;
            y[o] = a0 + (hasBias ? bias[co0] : 0f);
            if (co0 + 1 < s.Cout) y[o + next] = a1 + (hasBias ? bias[co0 + 1] : 0f);
            if (co0 + 2 < s.Cout) y[o + 2 * next] = a2 + (hasBias ? bias[co0 + 2] : 0f);
            if (co0 + 3 < s.Cout) y[o + 3 * next] = a3 + (hasBias ? bias[co0 + 3] : 0f);
        }
    }

    public static double[] Reference(double[] x, double[] w, double[]? bias, int b, int cin, int h, int wd, int cout, int k)
    {
        int ho = h * k, wo = wd * k;
        var y = new double[b * cout * ho * wo];
        for (int bi = 0; bi < b; bi++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        double sum = bias?[co] ?? 0;
                        for (int ci = 0; ci < cin; ci++)
                            sum += x[((bi * cin + ci) * h + oy / k) * wd + ox / k] * w[((ci * cout + co) * k + oy % k) * k + ox % k];
                        y[((bi * cout + co) * ho + oy) * wo + ox] = sum;
                    }
        return y;
    }
}

/// <summary>The validated geometry of a kernel == stride ConvTranspose2d; also the ILGPU parameter block.</summary>
internal readonly struct ConvTransposeShape
{
    public readonly int B, Cin, H, W, Cout, K, HasBias;

    ConvTransposeShape(int b, int cin, int h, int w, int cout, int k, bool hasBias)
    {
        B = b; Cin = cin; H = h; W = w; Cout = cout; K = k; HasBias = hasBias ? 1 : 0;
    }

    public double Flops => 2.0 * B * Cout * H * K * W * K * Cin;

    public static ConvTransposeShape Of(Tensor x, Tensor weight, Tensor? bias, Tensor y)
    {
        if (x.Rank != 4 || weight.Rank != 4 || y.Rank != 4)
            throw new ArgumentException($"conv_transpose2d: expected x [B, Cin, H, W], weight [Cin, Cout, k, k], y [B, Cout, kH, kW], got {x.ShapeString}, {weight.ShapeString}, {y.ShapeString}");
        int k = weight.Shape[2];
        if (weight.Shape[3] != k || k < 1)
            throw new ArgumentException($"conv_transpose2d: weight {weight.ShapeString} has a non-square kernel; only square kernel == stride is supported");
        if (weight.Shape[0] != x.Shape[1])
            throw new ArgumentException($"conv_transpose2d: weight {weight.ShapeString} does not take {x.Shape[1]} input channels of {x.ShapeString}");
        var s = new ConvTransposeShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[1], k, bias != null);
        int[] expected = [s.B, s.Cout, s.H * k, s.W * k];
        if (!y.Shape.SequenceEqual(expected))
            throw new ArgumentException($"conv_transpose2d: output {y.ShapeString} is not {Tensor.ShapeText(expected)}; only kernel == stride without padding is supported");
        if (bias != null && bias.Length != s.Cout) throw new ArgumentException($"conv_transpose2d: bias {bias.ShapeString} is not [{s.Cout}]");
        if (y.Length > int.MaxValue || x.Length > int.MaxValue) throw new ArgumentException($"conv_transpose2d: {y.ShapeString} is too large");
        return s;
    }
}

internal sealed class ConvTranspose2dChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // (x [B, Cin, H, W], Cout, k, bias): SAM's 2×2 s2 upscaling (scaled down), odd channels and grids, k 3 and 1.
        var cases = new (int[] X, int Cout, int K, bool Bias)[]
        {
            ([1, 64, 16, 16], 32, 2, true), ([1, 7, 5, 3], 5, 2, true), ([2, 33, 4, 6], 17, 2, false),
            ([1, 5, 3, 7], 6, 3, true), ([1, 9, 2, 2], 4, 1, false), ([1, 1, 1, 1], 130, 2, true),
        };
        foreach (var c in cases)
        {
            int[] wShape = [c.X[1], c.Cout, c.K, c.K], yShape = [c.X[0], c.Cout, c.X[2] * c.K, c.X[3] * c.K];
            yield return new KernelCheck("conv_transpose2d", $"{Tensor.ShapeText(c.X)}*{Tensor.ShapeText(wShape)}{(c.Bias ? " +b" : "")}", 1e-5, d =>
            {
                var x = CheckData.Uniform(61, Tensor.Count(c.X));
                var w = CheckData.Uniform(62, Tensor.Count(wShape));
                var bias = c.Bias ? CheckData.Uniform(63, c.Cout) : null;
                using var tx = CheckData.Upload(d, x, c.X);
                using var tw = CheckData.Upload(d, w, wShape);
                using var tb = bias != null ? CheckData.Upload(d, bias, c.Cout) : null;
                using var ty = CheckData.Poisoned(d, yShape);
                ConvTranspose2d.Forward(tx, tw, tb, ty);
                var reference = ConvTranspose2d.Reference(CheckData.Widen(x), CheckData.Widen(w), bias != null ? CheckData.Widen(bias) : null,
                    c.X[0], c.X[1], c.X[2], c.X[3], c.Cout, c.K);
                return Comparison.Of(reference, ty.Download());
            });
        }
    }
}
