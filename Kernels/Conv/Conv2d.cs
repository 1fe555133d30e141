using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>PyTorch Conv2d on NCHW: x [B, Cin, H, W], weight [Cout, Cin, kh, kw], optional bias [Cout], square stride and zero padding → y [B, Cout, Ho, Wo].</summary>
internal static class Conv2d
{
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y)
    {
        var s = Conv2dShape.Of(x, weight, bias, stride, padding, y);
        if (y.Device.IsIlgpu)
        {
            using var _ = Profiler.Launch(y.Device, "conv2d", s.Flops, 4.0 * (x.Length + weight.Length + y.Length));
            Direct(y.Device, x, weight, bias, y, s);
        }
        else Cpu(x, weight, bias, y, s);
    }

    // Native: every convolution is one GEMM per batch item, y[b] [Cout, Ho·Wo] = W [Cout, K] · col[b],
    // after laying the receptive fields out as columns. Gemm profiles itself; packing and bias
    // are timed as their own launches so nothing is counted twice.
    static void Cpu(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dShape s)
    {
        var w = weight.Reshape(s.Cout, s.K);
        int n = s.Ho * s.Wo;
        if (s.Kh == 1 && s.Kw == 1 && s.Stride == 1 && s.Pad == 0)
        {
            // 1×1: the input planes already are the columns.
            Gemm.Forward(w, x.Reshape(s.B, s.Cin, n), y.Reshape(s.B, s.Cout, n));
        }
        else if (s.Kh == s.Stride && s.Kw == s.Stride && s.Pad == 0)
        {
            // Patch embedding: receptive fields do not overlap, so each patch row is kw contiguous
            // inputs; gather patches as rows [Ho·Wo, K] and multiply by Wᵀ.
            using var patches = Tensor.Empty(y.Device, s.B, n, s.K);
            using (Profiler.Launch(y.Device, "conv2d_patches", 0, 8.0 * patches.Length))
                GatherPatches(x.HostArray, patches.HostArray, s);
            Gemm.Forward(w, patches, y.Reshape(s.B, s.Cout, n), transB: true);
        }
        else
        {
            using var col = Tensor.Empty(y.Device, s.K, n);
            for (int b = 0; b < s.B; b++)
            {
                using (Profiler.Launch(y.Device, "conv2d_im2col", 0, 4.0 * (x.Length / s.B + col.Length)))
                    Im2Col(x.HostArray, b, col.HostArray, s);
                Gemm.Forward(w, col, y.Slice(b, 1).Reshape(s.Cout, n));
            }
        }
        if (bias != null)
        {
            using var _ = Profiler.Launch(y.Device, "conv2d_bias", y.Length, 8.0 * y.Length);
            AddChannelBias(bias.Span, y.HostArray, s.B * s.Cout, n);
        }
    }

    static void GatherPatches((float[] Array, int Offset) x, (float[] Array, int Offset) patches, Conv2dShape s)
    {
        CpuCores.For(0, s.B * s.Ho, row =>
        {
            int oy = row % s.Ho, b = row / s.Ho;
            for (int ox = 0; ox < s.Wo; ox++)
            {
                int dst = patches.Offset + (row * s.Wo + ox) * s.K;
                for (int ci = 0; ci < s.Cin; ci++)
                    for (int ky = 0; ky < s.Kh; ky++, dst += s.Kw)
                    {
                        int src = x.Offset + ((b * s.Cin + ci) * s.H + oy * s.Stride + ky) * s.W + ox * s.Stride;
                        Array.Copy(x.Array, src, patches.Array, dst, s.Kw);
                    }
            }
        });
    }

    // col[(ci, ky, kx), (oy, ox)] = x[b, ci, oy·s − p + ky, ox·s − p + kx], zero outside the input.
    static void Im2Col((float[] Array, int Offset) x, int b, (float[] Array, int Offset) col, Conv2dShape s)
    {
        int n = s.Ho * s.Wo;
        CpuCores.For(0, s.K, row =>
        {
            int kx = row % s.Kw, ky = row / s.Kw % s.Kh, ci = row / (s.Kw * s.Kh);
            var (oxFirst, oxEnd) = s.Columns(kx);
            var dst = col.Array.AsSpan(col.Offset + row * n, n);
            for (int oy = 0; oy < s.Ho; oy++)
            {
                var line = dst.Slice(oy * s.Wo, s.Wo);
                int iy = oy * s.Stride - s.Pad + ky;
                if (iy < 0 || iy >= s.H) { line.Clear(); continue; }
                line[..oxFirst].Clear();
                line[oxEnd..].Clear();
                if (oxEnd == oxFirst) continue;
                int src = x.Offset + ((b * s.Cin + ci) * s.H + iy) * s.W + oxFirst * s.Stride - s.Pad + kx;
                if (s.Stride == 1) x.Array.AsSpan(src, oxEnd - oxFirst).CopyTo(line[oxFirst..]);
                else for (int ox = oxFirst; ox < oxEnd; ox++, src += s.Stride) line[ox] = x.Array[src];
            }
        });
    }

    static void AddChannelBias(ReadOnlySpan<float> bias, (float[] Array, int Offset) y, int planes, int n)
    {
        var b = bias.ToArray();
        CpuCores.For(0, planes, p =>
        {
            var plane = y.Array.AsSpan(y.Offset + p * n, n);
            TensorPrimitives.Add(plane, b[p % b.Length], plane);
        });
    }

    static void Direct(Device device, Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dShape s)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("conv2d_direct", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dShape>(DirectKernel));
        int threads = s.B * ((s.Cout + 3) / 4) * s.Ho * ((s.Wo + 3) / 4);
        kernel(threads, x.View, weight.View, (bias ?? weight).View, y.View, s);
    }

    /// <summary>
    /// Direct convolution, barrier-free: each thread accumulates 4 output channels × 4 adjacent
    /// output pixels of one row in registers, so every input load feeds 4 FMAs and every weight
    /// load 4 more. Out-of-range channels and pixels are computed on clamped indices and not stored.
    /// </summary>
    [SamKernel("conv2d_direct")]
    static void DirectKernel(Index1D index, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y, Conv2dShape s)
    {
        int xBlocks = (s.Wo + 3) / 4, coBlocks = (s.Cout + 3) / 4;
        int ox0 = index % xBlocks * 4;
        int t = index / xBlocks;
        int oy = t % s.Ho;
        t /= s.Ho;
        int co0 = t % coBlocks * 4, b = t / coBlocks;

        int k = s.K, last = s.Cout - 1;
        int w0 = co0 * k, w1 = Math.Min(co0 + 1, last) * k, w2 = Math.Min(co0 + 2, last) * k, w3 = Math.Min(co0 + 3, last) * k;
        int st = s.Stride;
        float a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
        float a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
        for (int ci = 0; ci < s.Cin; ci++)
        {
            for (int ky = 0; ky < s.Kh; ky++)
            {
                int iy = oy * st - s.Pad + ky;
                if (iy < 0 || iy >= s.H) continue;
                int row = ((b * s.Cin + ci) * s.H + iy) * s.W;
                int wk = (ci * s.Kh + ky) * s.Kw;
                for (int kx = 0; kx < s.Kw; kx++)
                {
                    int ix = ox0 * st - s.Pad + kx;
                    float x0 = Load(x, row, ix, s.W), x1 = Load(x, row, ix + st, s.W);
                    float x2 = Load(x, row, ix + 2 * st, s.W), x3 = Load(x, row, ix + 3 * st, s.W);
                    float c0 = w[w0 + wk + kx], c1 = w[w1 + wk + kx], c2 = w[w2 + wk + kx], c3 = w[w3 + wk + kx];
                    a00 += c0 * x0; a01 += c0 * x1; a02 += c0 * x2; a03 += c0 * x3;
                    a10 += c1 * x0; a11 += c1 * x1; a12 += c1 * x2; a13 += c1 * x3;
                    a20 += c2 * x0; a21 += c2 * x1; a22 += c2 * x2; a23 += c2 * x3;
                    a30 += c3 * x0; a31 += c3 * x1; a32 += c3 * x2; a33 += c3 * x3;
                }
            }
        }
        Store(y, bias, s, b, co0, oy, ox0, a00, a01, a02, a03);
        Store(y, bias, s, b, co0 + 1, oy, ox0, a10, a11, a12, a13);
        Store(y, bias, s, b, co0 + 2, oy, ox0, a20, a21, a22, a23);
        Store(y, bias, s, b, co0 + 3, oy, ox0, a30, a31, a32, a33);
    }

    // Zero padding without a divergent load: the index is clamped into the row, the value masked.
    static float Load(ArrayView<float> x, int row, int ix, int width)
    {
        float v = x[row + Math.Min(Math.Max(ix, 0), width - 1)];
        return ix >= 0 && ix < width ? v : 0f;
    }

    static void Store(ArrayView<float> y, ArrayView<float> bias, Conv2dShape s, int b, int co, int oy, int ox0, float v0, float v1, float v2, float v3)
    {
        if (co >= s.Cout) return;
        float add = s.HasBias != 0 ? bias[co] : 0f;
        int o = ((b * s.Cout + co) * s.Ho + oy) * s.Wo + ox0;
        y[o] = v0 + add;
        if (ox0 + 1 < s.Wo) y[o + 1] = v1 + add;
        if (ox0 + 2 < s.Wo) y[o + 2] = v2 + add;
        if (ox0 + 3 < s.Wo) y[o + 3] = v3 + add;
    }

    public static double[] Reference(double[] x, double[] w, double[]? bias, int b, int cin, int h, int wd, int cout, int kh, int kw, int stride, int pad)
    {
        int ho = (h + 2 * pad - kh) / stride + 1, wo = (wd + 2 * pad - kw) / stride + 1;
        var y = new double[b * cout * ho * wo];
        for (int bi = 0; bi < b; bi++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++)
                    {
                        double sum = bias?[co] ?? 0;
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    sum += x[((bi * cin + ci) * h + iy) * wd + ix] * w[((co * cin + ci) * kh + ky) * kw + kx];
                                }
                        y[((bi * cout + co) * ho + oy) * wo + ox] = sum;
                    }
        return y;
    }
}

internal sealed class Conv2dChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // (x [B, Cin, H, W], Cout, kh, kw, stride, padding, bias): SAM's patch embedding (scaled
        // down), 1×1 neck, 3×3 pad 1 neck, the prompt encoder's 2×2 s2 and 1×1 with bias; then
        // strided and padded general cases, odd everywhere.
        var cases = new (int[] X, int Cout, int Kh, int Kw, int Stride, int Pad, bool Bias)[]
        {
            ([1, 3, 48, 32], 65, 16, 16, 16, 0, true),
            ([2, 3, 20, 28], 33, 4, 4, 4, 0, true),
            ([2, 5, 15, 17], 7, 2, 2, 2, 0, true),
            ([1, 65, 5, 7], 17, 1, 1, 1, 0, false),
            ([2, 7, 9, 13], 33, 1, 1, 1, 0, true),
            ([1, 33, 13, 11], 35, 3, 3, 1, 1, false),
            ([1, 64, 20, 20], 64, 3, 3, 1, 1, false),
            ([1, 6, 9, 10], 5, 3, 3, 2, 1, true),
            ([2, 4, 7, 12], 3, 3, 5, 1, 2, true),
            ([1, 3, 8, 8], 2, 1, 1, 2, 0, false),
            ([1, 1, 1, 1], 1, 1, 1, 1, 0, true),
            ([1, 2, 3, 2], 130, 3, 3, 1, 1, true),
        };
        foreach (var c in cases)
        {
            int[] wShape = [c.Cout, c.X[1], c.Kh, c.Kw];
            int ho = (c.X[2] + 2 * c.Pad - c.Kh) / c.Stride + 1, wo = (c.X[3] + 2 * c.Pad - c.Kw) / c.Stride + 1;
            int[] yShape = [c.X[0], c.Cout, ho, wo];
            string shape = $"{Tensor.ShapeText(c.X)}*{Tensor.ShapeText(wShape)} s{c.Stride} p{c.Pad}{(c.Bias ? " +b" : "")}";
            yield return new KernelCheck("conv2d", shape, 1e-5, d =>
            {
                var x = CheckData.Uniform(51, Tensor.Count(c.X));
                var w = CheckData.Uniform(52, Tensor.Count(wShape));
                var bias = c.Bias ? CheckData.Uniform(53, c.Cout) : null;
                using var tx = CheckData.Upload(d, x, c.X);
                using var tw = CheckData.Upload(d, w, wShape);
                using var tb = bias != null ? CheckData.Upload(d, bias, c.Cout) : null;
                using var ty = CheckData.Poisoned(d, yShape);
                Conv2d.Forward(tx, tw, tb, c.Stride, c.Pad, ty);
                var reference = Conv2d.Reference(CheckData.Widen(x), CheckData.Widen(w), bias != null ? CheckData.Widen(bias) : null,
                    c.X[0], c.X[1], c.X[2], c.X[3], c.Cout, c.Kh, c.Kw, c.Stride, c.Pad);
                return Comparison.Of(reference, ty.Download());
            });
        }
    }
}
