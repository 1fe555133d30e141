using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// SAM's LayerNorm2d: normalises over the channel axis of [B, C, H, W] at every pixel, then
/// per-channel gamma/beta. y may alias x. Statistics as in <see cref="LayerNorm"/> (two-pass with
/// the mean's own error corrected).
///
/// Both ILGPU variants give each thread whole pixels, looping over the channels: neighbouring threads
/// read neighbouring pixels, so every channel step is one coalesced row read and no reduction
/// across threads (hence no barrier) is needed.
/// </summary>
internal static class LayerNorm2d
{
    public static void Forward(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y)
    {
        if (x.Rank != 4) throw new ArgumentException($"layernorm2d: input {x.ShapeString} is not [B, C, H, W]");
        int batch = x.Shape[0], c = x.Shape[1], pixels = x.Shape[2] * x.Shape[3];
        if (gamma.Length != c || beta.Length != c)
            throw new ArgumentException($"layernorm2d: gamma {gamma.ShapeString} and beta {beta.ShapeString} must be [{c}] for input {x.ShapeString}");
        if (y.Length != x.Length) throw new ArgumentException($"layernorm2d: output {y.ShapeString} does not match input {x.ShapeString}");
        if (x.Length == 0) return;
        using var _ = Profiler.Launch(y.Device, "layernorm2d", 9.0 * x.Length, 4.0 * (2 * x.Length + 2 * c));
        if (y.Device.IsIlgpu) Ilgpu(y.Device, x, gamma, beta, eps, y, batch, c, pixels);
        else Cpu(x, gamma, beta, eps, y, batch, c, pixels);
    }

    // Channel sums run in blocks so float error grows with C/SumBlock + SumBlock, not C.
    const int SumBlock = 32;

    // Pixels per native task: its per-pixel statistics stay in L1 while it sweeps the channels.
    const int PixelBlock = 512;

    static void Cpu(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, int batch, int c, int pixels)
    {
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        var g = gamma.Download();
        var bt = beta.Download();
        int blocksPerImage = (pixels + PixelBlock - 1) / PixelBlock;
        RowBlocks.For(batch * blocksPerImage, (long)c * PixelBlock, (first, end) =>
        {
            var scratch = new float[6 * PixelBlock];
            for (int task = first; task < end; task++)
            {
                int b = task / blocksPerImage, p0 = task % blocksPerImage * PixelBlock;
                long offset = (long)b * c * pixels + p0;
                NormalizePixels(xa, xo + offset, ya, yo + offset, Math.Min(PixelBlock, pixels - p0), c, pixels, g, bt, eps, scratch);
            }
        });
    }

    /// <summary>n neighbouring pixels of one image, each channel a contiguous run of n floats `pixels` apart.</summary>
    static void NormalizePixels(float[] xa, long xStart, float[] ya, long yStart, int n, int c, int pixels,
        float[] gamma, float[] beta, float eps, float[] scratch)
    {
        Span<float> X(int ch) => xa.AsSpan(checked((int)(xStart + (long)ch * pixels)), n);
        Span<float> Y(int ch) => ya.AsSpan(checked((int)(yStart + (long)ch * pixels)), n);
        var mean = scratch.AsSpan(0, n);
        var correction = scratch.AsSpan(PixelBlock, n);   // Σd, then Σd/C
        var rstd = scratch.AsSpan(2 * PixelBlock, n);     // Σd², then 1/sqrt(var + eps)
        var d = scratch.AsSpan(3 * PixelBlock, n);
        var block1 = scratch.AsSpan(4 * PixelBlock, n);
        var block2 = scratch.AsSpan(5 * PixelBlock, n);
        mean.Clear();
        correction.Clear();
        rstd.Clear();
        for (int k = 0; k < c; k += SumBlock)
        {
            block1.Clear();
            for (int ch = k; ch < Math.Min(k + SumBlock, c); ch++) TensorPrimitives.Add(block1, X(ch), block1);
            TensorPrimitives.Add(mean, block1, mean);
        }
        TensorPrimitives.Divide(mean, c, mean);
        for (int k = 0; k < c; k += SumBlock)
        {
            block1.Clear();
            block2.Clear();
            for (int ch = k; ch < Math.Min(k + SumBlock, c); ch++)
            {
                TensorPrimitives.Subtract(X(ch), mean, d);
                TensorPrimitives.Add(block1, d, block1);
                TensorPrimitives.MultiplyAdd(d, d, block2, block2);
            }
            TensorPrimitives.Add(correction, block1, correction);
            TensorPrimitives.Add(rstd, block2, rstd);
        }
        TensorPrimitives.Divide(correction, c, correction);
        TensorPrimitives.Divide(rstd, c, rstd);
        TensorPrimitives.Multiply(correction, correction, d);
        TensorPrimitives.Subtract(rstd, d, rstd);
        TensorPrimitives.Max(rstd, 0f, rstd);
        TensorPrimitives.Add(rstd, eps, rstd);
        TensorPrimitives.Sqrt(rstd, rstd);
        TensorPrimitives.Reciprocal(rstd, rstd);
        for (int ch = 0; ch < c; ch++)
        {
            TensorPrimitives.Subtract(X(ch), mean, d);
            TensorPrimitives.Subtract(d, correction, d);
            TensorPrimitives.Multiply(d, rstd, d);
            TensorPrimitives.Multiply(d, gamma[ch], d);
            TensorPrimitives.Add(d, beta[ch], Y(ch));
        }
    }

    static void Ilgpu(Device device, Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, int batch, int c, int pixels)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("layernorm2d", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, GridStride>(PixelKernel));
        var s = GridStride.For(acc, (long)batch * pixels);
        kernel(s.Threads, x.View, gamma.View, beta.View, y.View, c, pixels, eps, s);
    }

    [SamKernel("layernorm2d")]
    static void PixelKernel(Index1D thread, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y,
        int c, int pixels, float eps, GridStride s)
    {
        for (int index = thread; index < s.Count; index += s.Threads)
        {
            int b = index / pixels;
            long start = (long)b * c * pixels + index % pixels;
            float sum = 0;
            for (int k = 0; k < c; k += SumBlock)
            {
                float block = 0;
                for (int ch = k; ch < XMath.Min(k + SumBlock, c); ch++) block += x[start + (long)ch * pixels];
                sum += block;
            }
            float mean = sum / c;
            float s1 = 0, s2 = 0;
            for (int k = 0; k < c; k += SumBlock)
            {
                float block1 = 0, block2 = 0;
                for (int ch = k; ch < XMath.Min(k + SumBlock, c); ch++)
                {
                    float d = x[start + (long)ch * pixels] - mean;
                    block1 += d;
                    block2 += d * d;
                }
                s1 += block1;
                s2 += block2;
            }
            float correction = s1 / c;
            float variance = XMath.Max(s2 / c - correction * correction, 0f);
            float rstd = 1f / XMath.Sqrt(variance + eps);
            for (int ch = 0; ch < c; ch++)
            {
                long i = start + (long)ch * pixels;
                y[i] = (x[i] - mean - correction) * rstd * gamma[ch] + beta[ch];
            }
        }
    }

    public static double[] Reference(double[] x, int batch, int c, int pixels, double[] gamma, double[] beta, double eps)
    {
        var y = new double[x.Length];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < pixels; p++)
            {
                long start = (long)b * c * pixels + p;
                double mean = 0, variance = 0;
                for (int ch = 0; ch < c; ch++) mean += x[start + (long)ch * pixels];
                mean /= c;
                for (int ch = 0; ch < c; ch++) variance += Math.Pow(x[start + (long)ch * pixels] - mean, 2);
                variance /= c;
                double sd = Math.Sqrt(variance + eps);
                for (int ch = 0; ch < c; ch++)
                    y[start + (long)ch * pixels] = gamma[ch] * ((x[start + (long)ch * pixels] - mean) / sd) + beta[ch];
            }
        return y;
    }
}

internal sealed class LayerNorm2dChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        foreach (var shape in new[] { new[] { 1, 1, 1, 1 }, new[] { 1, 7, 5, 3 }, new[] { 2, 33, 9, 7 }, new[] { 1, 65, 17, 19 }, new[] { 1, 256, 16, 17 } })
            yield return Case(Tensor.ShapeText(shape), shape, 0, false);
        yield return Case("[1×32×20×20] offset 100", [1, 32, 20, 20], 100, false);
        yield return Case("[2×16×33×9] in place", [2, 16, 33, 9], 0, true);
    }

    // As LayerNorm: a few roundings of order-1 values.
    static KernelCheck Case(string name, int[] shape, float offset, bool inPlace) =>
        new("layernorm2d", name, 1e-6, d =>
        {
            int c = shape[1], pixels = shape[2] * shape[3];
            var x = CheckData.Uniform(41, Tensor.Count(shape), offset - 1, offset + 1);
            var gamma = CheckData.Uniform(42, c, 0.5f, 1.5f);
            var beta = CheckData.Uniform(43, c);
            using var tx = CheckData.Upload(d, x, shape);
            using var tg = CheckData.Upload(d, gamma, c);
            using var tb = CheckData.Upload(d, beta, c);
            using var ty = inPlace ? null : CheckData.Poisoned(d, shape);
            LayerNorm2d.Forward(tx, tg, tb, 1e-6f, ty ?? tx);
            return Comparison.Of(LayerNorm2d.Reference(CheckData.Widen(x), shape[0], c, pixels, CheckData.Widen(gamma), CheckData.Widen(beta), 1e-6),
                (ty ?? tx).Download());
        });
}
