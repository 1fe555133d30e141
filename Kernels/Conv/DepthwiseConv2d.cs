using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// PyTorch Conv2d with groups = channels (depthwise) on NCHW: x [B, C, H, W], weight [C, 1, k, k],
/// optional bias [C], square stride and zero padding → y [B, C, Ho, Wo]; every channel is
/// convolved with its own k×k filter. TinyViT (MobileSAM's encoder) uses it in its MBConv and
/// PatchMerging blocks and as the local convolution of every attention block.
/// </summary>
internal static class DepthwiseConv2d
{
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y)
    {
        var s = DepthwiseShape.Of(x, weight, bias, stride, padding, y);
        if (y.Length == 0) return;
        using var _ = Profiler.Launch(y.Device, "depthwise_conv2d", s.Flops, 4.0 * (x.Length + weight.Length + y.Length));
        if (y.Device.IsIlgpu)
        {
            var acc = y.Device.RequireAccelerator();
            var kernel = y.Device.Kernels.Get("depthwise_conv2d", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DepthwiseShape, GridStride>(Kernel));
            var g = GridStride.For(acc, y.Length);
            kernel(g.Threads, x.View, weight.View, (bias ?? weight).View, y.View, s, g);
        }
        else Cpu(x.HostArray, weight.Download(), bias?.Download(), y.HostArray, s);
    }

    // Native: one task per output plane. Each output row sums its k·k taps in tap order, each tap
    // a multiply-add over the row's in-range outputs (contiguous inputs when the stride is 1),
    // then adds the bias: the order the ILGPU kernel sums in too.
    static void Cpu((float[] Array, int Offset) x, float[] w, float[]? bias, (float[] Array, int Offset) y, DepthwiseShape s)
    {
        CpuCores.For(0, s.B * s.C, () => new float[s.Wo], (plane, _, row) =>
        {
            int c = plane % s.C;
            var input = x.Array.AsSpan(x.Offset + plane * s.H * s.W, s.H * s.W);
            var output = y.Array.AsSpan(y.Offset + plane * s.Ho * s.Wo, s.Ho * s.Wo);
            for (int oy = 0; oy < s.Ho; oy++)
            {
                Array.Clear(row);
                for (int ky = 0; ky < s.K; ky++)
                {
                    int iy = oy * s.Stride - s.Pad + ky;
                    if (iy < 0 || iy >= s.H) continue;
                    var line = input.Slice(iy * s.W, s.W);
                    for (int kx = 0; kx < s.K; kx++)
                    {
                        float tap = w[(c * s.K + ky) * s.K + kx];
                        var (first, end) = s.Columns(kx);
                        if (first >= end) continue;
                        if (s.Stride == 1)
                        {
                            var span = row.AsSpan(first, end - first);
                            TensorPrimitives.MultiplyAdd(line.Slice(first - s.Pad + kx, end - first), tap, span, span);
                        }
                        else
                            for (int ox = first; ox < end; ox++) row[ox] += line[ox * s.Stride - s.Pad + kx] * tap;
                    }
                }
                var dst = output.Slice(oy * s.Wo, s.Wo);
                if (bias != null) TensorPrimitives.Add(row, bias[c], dst);
                else row.CopyTo(dst);
            }
            return row;
        }, _ => { });
    }

    /// <summary>One thread per output value (grid-stride): neighbouring threads take neighbouring columns, so reads coalesce.</summary>
    [SamKernel("depthwise_conv2d")]
    static void Kernel(Index1D index, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y, DepthwiseShape s, GridStride g)
    {
        for (int i = index; i < g.Count; i += g.Threads)
        {
            int ox = i % s.Wo, t = i / s.Wo;
            int oy = t % s.Ho, plane = t / s.Ho, c = plane % s.C;
            float sum = 0f;
            for (int ky = 0; ky < s.K; ky++)
            {
                int iy = oy * s.Stride - s.Pad + ky;
                if (iy < 0 || iy >= s.H) continue;
                int row = (plane * s.H + iy) * s.W;
                for (int kx = 0; kx < s.K; kx++)
                {
                    int ix = ox * s.Stride - s.Pad + kx;
                    if (ix >= 0 && ix < s.W) sum += x[row + ix] * w[(c * s.K + ky) * s.K + kx];
                }
            }
            y[i] = s.HasBias != 0 ? sum + bias[c] : sum;
        }
    }

    public static double[] Reference(double[] x, double[] w, double[]? bias, int b, int c, int h, int wd, int k, int stride, int pad)
    {
        int ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1;
        var y = new double[b * c * ho * wo];
        for (int plane = 0; plane < b * c; plane++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                {
                    double sum = bias?[plane % c] ?? 0;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++)
                        {
                            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            sum += x[(plane * h + iy) * wd + ix] * w[(plane % c * k + ky) * k + kx];
                        }
                    y[(plane * ho + oy) * wo + ox] = sum;
                }
        return y;
    }
}

/// <summary>The validated geometry of one depthwise call; also the ILGPU kernel's parameter block, hence plain fields.</summary>
internal readonly struct DepthwiseShape
{
    public readonly int B, C, H, W, K, Stride, Pad, Ho, Wo, HasBias;

    public DepthwiseShape(int b, int c, int h, int w, int k, int stride, int pad, bool hasBias)
    {
        B = b; C = c; H = h; W = w; K = k; Stride = stride; Pad = pad;
        Ho = (h + 2 * pad - k) / stride + 1;
        Wo = (w + 2 * pad - k) / stride + 1;
        HasBias = hasBias ? 1 : 0;
    }

    public double Flops => 2.0 * B * C * Ho * Wo * K * K;

    /// <summary>The output columns [first, end) whose tap kx reads inside the input row.</summary>
    public (int First, int End) Columns(int kx)
    {
        int first = Math.Min(Wo, Math.Max(0, (Pad - kx + Stride - 1) / Stride));
        int reach = W - 1 + Pad - kx;
        return (first, Math.Max(first, reach < 0 ? 0 : Math.Min(reach / Stride + 1, Wo)));
    }

    public static DepthwiseShape Of(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y)
    {
        if (x.Rank != 4 || weight.Rank != 4 || y.Rank != 4)
            throw new ArgumentException($"depthwise conv2d: expected x [B, C, H, W], weight [C, 1, k, k], y [B, C, Ho, Wo], got {x.ShapeString}, {weight.ShapeString}, {y.ShapeString}");
        if (stride < 1 || padding < 0) throw new ArgumentException($"depthwise conv2d: stride {stride} and padding {padding} must be positive and non-negative");
        int c = x.Shape[1], k = weight.Shape[2];
        if (weight.Shape[0] != c || weight.Shape[1] != 1 || weight.Shape[3] != k)
            throw new ArgumentException($"depthwise conv2d: weight {weight.ShapeString} is not [{c}, 1, k, k] for x {x.ShapeString}");
        if (k < 1 || x.Shape[2] + 2 * padding < k || x.Shape[3] + 2 * padding < k)
            throw new ArgumentException($"depthwise conv2d: kernel {k}×{k} does not fit input {x.ShapeString} padded by {padding}");
        var s = new DepthwiseShape(x.Shape[0], c, x.Shape[2], x.Shape[3], k, stride, padding, bias != null);
        int[] expected = [s.B, c, s.Ho, s.Wo];
        if (!y.Shape.SequenceEqual(expected))
            throw new ArgumentException($"depthwise conv2d: output {y.ShapeString} for x {x.ShapeString}, weight {weight.ShapeString}, stride {stride}, padding {padding}; expected {Tensor.ShapeText(expected)}");
        if (bias != null && bias.Length != c) throw new ArgumentException($"depthwise conv2d: bias {bias.ShapeString} is not [{c}]");
        return s;
    }
}

internal sealed class DepthwiseConv2dChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // (x [B, C, H, W], k, stride, padding, bias): TinyViT's shapes scaled down (MBConv and the
        // local convolution 3×3 s1 p1, PatchMerging's 3×3 s2 p1), then odd sizes, a 5×5, a kernel
        // wider than the input, one pixel, and a plane wider than a vector row.
        var cases = new (int[] X, int K, int Stride, int Pad, bool Bias)[]
        {
            ([1, 16, 13, 11], 3, 1, 1, true),
            ([2, 5, 9, 10], 3, 2, 1, false),
            ([1, 7, 8, 8], 5, 1, 2, true),
            ([1, 3, 17, 9], 3, 2, 1, true),
            ([2, 4, 2, 3], 3, 1, 1, false),
            ([1, 2, 1, 1], 3, 1, 1, true),
            ([1, 6, 7, 7], 3, 1, 0, true),
            ([1, 3, 4, 70], 3, 1, 1, true),
        };
        foreach (var c in cases)
        {
            int[] wShape = [c.X[1], 1, c.K, c.K];
            int ho = (c.X[2] + 2 * c.Pad - c.K) / c.Stride + 1, wo = (c.X[3] + 2 * c.Pad - c.K) / c.Stride + 1;
            int[] yShape = [c.X[0], c.X[1], ho, wo];
            string shape = $"{Tensor.ShapeText(c.X)}*{Tensor.ShapeText(wShape)} s{c.Stride} p{c.Pad}{(c.Bias ? " +b" : "")}";
            yield return new KernelCheck("depthwise_conv2d", shape, 1e-5, d =>
            {
                var x = CheckData.Uniform(61, Tensor.Count(c.X));
                var w = CheckData.Uniform(62, Tensor.Count(wShape));
                var bias = c.Bias ? CheckData.Uniform(63, c.X[1]) : null;
                using var tx = CheckData.Upload(d, x, c.X);
                using var tw = CheckData.Upload(d, w, wShape);
                using var tb = bias != null ? CheckData.Upload(d, bias, c.X[1]) : null;
                using var ty = CheckData.Poisoned(d, yShape);
                DepthwiseConv2d.Forward(tx, tw, tb, c.Stride, c.Pad, ty);
                var reference = DepthwiseConv2d.Reference(CheckData.Widen(x), CheckData.Widen(w), bias != null ? CheckData.Widen(bias) : null,
                    c.X[0], c.X[1], c.X[2], c.X[3], c.K, c.Stride, c.Pad);
                return Comparison.Of(reference, ty.Download());
            });
        }
    }
}
