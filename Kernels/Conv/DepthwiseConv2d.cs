using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// PyTorch Conv2d with groups = channels (depthwise), on channels-last maps: x [B, H, W, C],
/// weight [C, 1, k, k] (PyTorch's layout), optional bias [C], square stride and zero padding,
/// then an optional activation → y [B, Ho, Wo, C]. Every channel is convolved with its own k×k
/// filter. TinyViT (MobileSAM's encoder) uses it in its MBConv and PatchMerging blocks and as the
/// local convolution of every attention block, on tokens that stay channels-last throughout.
/// </summary>
internal static class DepthwiseConv2d
{
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y, Activation activation = Activation.None)
    {
        var s = DepthwiseShape.Of(x, weight, bias, stride, padding, y, activation);
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

    // Native: one task per output row. The filters are laid out tap-major [k·k, C] so that every
    // tap of a pixel is one multiply-add over its C channels (the vector lanes); each output
    // pixel sums its taps in tap order, then adds the bias and applies the activation.
    static void Cpu((float[] Array, int Offset) x, float[] w, float[]? bias, (float[] Array, int Offset) y, DepthwiseShape s)
    {
        int taps = s.K * s.K;
        var tapMajor = new float[taps * s.C];
        for (int c = 0; c < s.C; c++)
            for (int t = 0; t < taps; t++) tapMajor[t * s.C + c] = w[c * taps + t];
        CpuCores.For(0, s.B * s.Ho, () => new float[s.Wo * s.C], (row, _, acc) =>
        {
            int b = row / s.Ho, oy = row % s.Ho;
            Array.Clear(acc);
            for (int ky = 0; ky < s.K; ky++)
            {
                int iy = oy * s.Stride - s.Pad + ky;
                if (iy < 0 || iy >= s.H) continue;
                var line = x.Array.AsSpan(x.Offset + (b * s.H + iy) * s.W * s.C, s.W * s.C);
                for (int kx = 0; kx < s.K; kx++)
                {
                    var tap = tapMajor.AsSpan((ky * s.K + kx) * s.C, s.C);
                    var (first, end) = s.Columns(kx);
                    for (int ox = first; ox < end; ox++)
                        MultiplyAdd(line.Slice((ox * s.Stride - s.Pad + kx) * s.C, s.C), tap, acc.AsSpan(ox * s.C, s.C));
                }
            }
            var output = y.Array.AsSpan(y.Offset + row * s.Wo * s.C, s.Wo * s.C);
            for (int ox = 0; ox < s.Wo; ox++)
            {
                var pixel = acc.AsSpan(ox * s.C, s.C);
                if (bias != null) System.Numerics.Tensors.TensorPrimitives.Add(pixel, bias, pixel);
            }
            if (s.Activation == (int)Activation.Gelu) Gelu.Span(acc, output);
            else if (s.Activation == (int)Activation.Relu) System.Numerics.Tensors.TensorPrimitives.Max(acc, 0f, output);
            else acc.CopyTo(output);
            return acc;
        }, _ => { });
    }

    /// <summary>acc += x·w over one pixel's channels, eight lanes at a time (a fused multiply-add each, as the ILGPU kernel's).</summary>
    static void MultiplyAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> acc)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            ref float wr = ref MemoryMarshal.GetReference(w);
            ref float ar = ref MemoryMarshal.GetReference(acc);
            for (; i <= acc.Length - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref wr, (nuint)i), Vector256.LoadUnsafe(ref ar, (nuint)i))
                    .StoreUnsafe(ref ar, (nuint)i);
        }
        for (; i < acc.Length; i++) acc[i] = MathF.FusedMultiplyAdd(x[i], w[i], acc[i]);
    }

    /// <summary>One thread per output value (grid-stride): neighbouring threads take neighbouring channels, so reads coalesce.</summary>
    [SamKernel("depthwise_conv2d")]
    static void Kernel(Index1D index, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y, DepthwiseShape s, GridStride g)
    {
        for (int i = index; i < g.Count; i += g.Threads)
        {
            int c = i % s.C, t = i / s.C;
            int ox = t % s.Wo;
            t /= s.Wo;
            int oy = t % s.Ho, b = t / s.Ho;
            float sum = 0f;
            for (int ky = 0; ky < s.K; ky++)
            {
                int iy = oy * s.Stride - s.Pad + ky;
                if (iy < 0 || iy >= s.H) continue;
                for (int kx = 0; kx < s.K; kx++)
                {
                    int ix = ox * s.Stride - s.Pad + kx;
                    if (ix >= 0 && ix < s.W) sum += x[((b * s.H + iy) * s.W + ix) * s.C + c] * w[(c * s.K + ky) * s.K + kx];
                }
            }
            if (s.HasBias != 0) sum += bias[c];
            y[i] = s.Activation == (int)Activation.Gelu ? GeluMath.Gelu(sum) : s.Activation == (int)Activation.Relu ? Math.Max(sum, 0f) : sum;
        }
    }

    /// <summary>The float64 reference on channels-last x [B, H, W, C] (no activation).</summary>
    public static double[] Reference(double[] x, double[] w, double[]? bias, int b, int h, int wd, int c, int k, int stride, int pad)
    {
        int ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1;
        var y = new double[b * ho * wo * c];
        for (int bi = 0; bi < b; bi++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        double sum = bias?[ch] ?? 0;
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                            {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                sum += x[((bi * h + iy) * wd + ix) * c + ch] * w[(ch * k + ky) * k + kx];
                            }
                        y[((bi * ho + oy) * wo + ox) * c + ch] = sum;
                    }
        return y;
    }
}

/// <summary>The validated geometry of one depthwise call; also the ILGPU kernel's parameter block, hence plain fields.</summary>
internal readonly struct DepthwiseShape
{
    public readonly int B, C, H, W, K, Stride, Pad, Ho, Wo, HasBias, Activation;

    public DepthwiseShape(int b, int c, int h, int w, int k, int stride, int pad, bool hasBias, Activation activation)
    {
        B = b; C = c; H = h; W = w; K = k; Stride = stride; Pad = pad;
        Ho = (h + 2 * pad - k) / stride + 1;
        Wo = (w + 2 * pad - k) / stride + 1;
        HasBias = hasBias ? 1 : 0;
        Activation = (int)activation;
    }

    public double Flops => 2.0 * B * C * Ho * Wo * K * K;

    /// <summary>The output columns [first, end) whose tap kx reads inside the input row.</summary>
    public (int First, int End) Columns(int kx) => Conv2dShape.OutputColumns(W, Wo, Stride, Pad, kx);

    public static DepthwiseShape Of(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y, Kernels.Activation activation)
    {
        if (x.Rank != 4 || weight.Rank != 4 || y.Rank != 4)
            throw new ArgumentException($"depthwise conv2d: expected x [B, H, W, C], weight [C, 1, k, k], y [B, Ho, Wo, C], got {x.ShapeString}, {weight.ShapeString}, {y.ShapeString}");
        if (stride < 1 || padding < 0) throw new ArgumentException($"depthwise conv2d: stride {stride} and padding {padding} must be positive and non-negative");
        int c = x.Shape[3], k = weight.Shape[2];
        if (weight.Shape[0] != c || weight.Shape[1] != 1 || weight.Shape[3] != k)
            throw new ArgumentException($"depthwise conv2d: weight {weight.ShapeString} is not [{c}, 1, k, k] for x {x.ShapeString}");
        if (k < 1 || x.Shape[1] + 2 * padding < k || x.Shape[2] + 2 * padding < k)
            throw new ArgumentException($"depthwise conv2d: kernel {k}×{k} does not fit input {x.ShapeString} padded by {padding}");
        var s = new DepthwiseShape(x.Shape[0], c, x.Shape[1], x.Shape[2], k, stride, padding, bias != null, activation);
        int[] expected = [s.B, s.Ho, s.Wo, c];
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
        // (x [B, H, W, C], k, stride, padding, bias, GELU): TinyViT's shapes scaled down (MBConv and
        // the local convolution 3×3 s1 p1, PatchMerging's 3×3 s2 p1, both with and without the
        // GELU that follows them), then odd channel counts (vector tails), a 5×5, a kernel wider
        // than the input, one pixel.
        var cases = new (int[] X, int K, int Stride, int Pad, bool Bias, bool Gelu)[]
        {
            ([1, 13, 11, 16], 3, 1, 1, true, false),
            ([1, 13, 11, 16], 3, 1, 1, true, true),
            ([2, 9, 10, 5], 3, 2, 1, false, false),
            ([1, 17, 9, 24], 3, 2, 1, true, true),
            ([1, 8, 8, 7], 5, 1, 2, true, false),
            ([2, 2, 3, 4], 3, 1, 1, false, true),
            ([1, 1, 1, 2], 3, 1, 1, true, false),
            ([1, 7, 7, 6], 3, 1, 0, true, false),
            ([1, 4, 70, 35], 3, 1, 1, true, true),
        };
        foreach (var c in cases)
        {
            int ch = c.X[3];
            int[] wShape = [ch, 1, c.K, c.K];
            int ho = (c.X[1] + 2 * c.Pad - c.K) / c.Stride + 1, wo = (c.X[2] + 2 * c.Pad - c.K) / c.Stride + 1;
            int[] yShape = [c.X[0], ho, wo, ch];
            string shape = $"{Tensor.ShapeText(c.X)}*{Tensor.ShapeText(wShape)} s{c.Stride} p{c.Pad}{(c.Bias ? " +b" : "")}{(c.Gelu ? " gelu" : "")}";
            yield return new KernelCheck("depthwise_conv2d", shape, 1e-5, d =>
            {
                var x = CheckData.Uniform(61, Tensor.Count(c.X));
                var w = CheckData.Uniform(62, Tensor.Count(wShape));
                var bias = c.Bias ? CheckData.Uniform(63, ch) : null;
                using var tx = CheckData.Upload(d, x, c.X);
                using var tw = CheckData.Upload(d, w, wShape);
                using var tb = bias != null ? CheckData.Upload(d, bias, ch) : null;
                using var ty = CheckData.Poisoned(d, yShape);
                DepthwiseConv2d.Forward(tx, tw, tb, c.Stride, c.Pad, ty, c.Gelu ? Activation.Gelu : Activation.None);
                var reference = DepthwiseConv2d.Reference(CheckData.Widen(x), CheckData.Widen(w), bias != null ? CheckData.Widen(bias) : null,
                    c.X[0], c.X[1], c.X[2], ch, c.K, c.Stride, c.Pad);
                if (c.Gelu) reference = Gelu.Reference(reference);
                return Comparison.Of(reference, ty.Download());
            });
        }
    }
}
