using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// y = (x − mean) / sqrt(var + eps) · gamma + beta over the last axis (biased variance, as PyTorch).
/// y may alias x.
///
/// Statistics are two-pass with a correction: after mean = Σx/C in float, the deviations
/// d = x − mean are summed as well as squared. Σd/C is the float mean's own error, so
/// var = Σd²/C − (Σd/C)² and the output uses d − Σd/C: a row whose mean is large against its
/// spread (a constant offset, an outlier channel) keeps full precision.
/// </summary>
internal static class LayerNorm
{
    public static void Forward(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y)
    {
        int c = x.Rank == 0 ? 0 : x.Dim(-1);
        if (c == 0) throw new ArgumentException($"layernorm: input {x.ShapeString} has no last axis to normalise");
        if (gamma.Length != c || beta.Length != c)
            throw new ArgumentException($"layernorm: gamma {gamma.ShapeString} and beta {beta.ShapeString} must be [{c}] for input {x.ShapeString}");
        if (y.Length != x.Length) throw new ArgumentException($"layernorm: output {y.ShapeString} does not match input {x.ShapeString}");
        int rows = checked((int)(x.Length / c));
        using var _ = Profiler.Launch(y.Device, "layernorm", 9.0 * x.Length, 4.0 * (2 * x.Length + 2 * c));
        if (!y.Device.IsIlgpu) Cpu(x, gamma, beta, eps, y, rows, c);
        else if (y.Device.Variant == KernelVariant.Tuned) Tuned(y.Device, x, gamma, beta, eps, y, rows, c);
        else Portable(y.Device, x, gamma, beta, eps, y, rows, c);
    }

    static void Cpu(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, int rows, int c)
    {
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        var (ga, go) = gamma.HostArray;
        var (ba, bo) = beta.HostArray;
        RowBlocks.For(rows, c, (start, end) =>
        {
            var d = new float[c];
            for (int r = start; r < end; r++)
                Row(xa.AsSpan(xo + r * c, c), ga.AsSpan(go, c), ba.AsSpan(bo, c), eps, ya.AsSpan(yo + r * c, c), d);
        });
    }

    /// <summary>One row normalised; d is scratch of the row's length.</summary>
    internal static unsafe void Row(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y, Span<float> d)
    {
        if (Wide(x.Length) && gamma.Length == x.Length && beta.Length == x.Length && y.Length == x.Length)
        {
            fixed (float* px = x, pg = gamma, pb = beta, py = y) Row512(px, null, null, pg, pb, eps, py, x.Length);
            return;
        }
        if (Vector256.IsHardwareAccelerated && x.Length % 8 == 0 && gamma.Length == x.Length && beta.Length == x.Length && y.Length == x.Length)
        {
            Row256(x, gamma, beta, eps, y);
            return;
        }
        float mean = TensorPrimitives.Sum(x) / x.Length;
        TensorPrimitives.Subtract(x, mean, d);
        float correction = TensorPrimitives.Sum<float>(d) / x.Length;
        float variance = MathF.Max(TensorPrimitives.SumOfSquares<float>(d) / x.Length - correction * correction, 0f);
        float rstd = 1f / MathF.Sqrt(variance + eps);
        TensorPrimitives.Subtract(d, correction, d);
        TensorPrimitives.Multiply(d, rstd, d);
        TensorPrimitives.MultiplyAdd(d, gamma, beta, y);
    }

    /// <summary>
    /// s = (s + bias) + residual, then y = LayerNorm(s): a fused op's pre-norm row finished and normalised
    /// in one go (n floats at each pointer; bias or residual may be null).
    /// </summary>
    internal static unsafe void Row(float* s, float* bias, float* residual, float* gamma, float* beta, float eps, float* y, int n)
    {
        if (Wide(n))
        {
            Row512(s, bias, residual, gamma, beta, eps, y, n);
            return;
        }
        var row = new Span<float>(s, n);
        if (bias != null) TensorPrimitives.Add(row, new ReadOnlySpan<float>(bias, n), row);
        if (residual != null) TensorPrimitives.Add(row, new ReadOnlySpan<float>(residual, n), row);
        var d = n <= 1024 ? stackalloc float[n] : new float[n];
        Row(row, new ReadOnlySpan<float>(gamma, n), new ReadOnlySpan<float>(beta, n), eps, new Span<float>(y, n), d);
    }

    static bool Wide(int n) => Vector512.IsHardwareAccelerated && n % 64 == 0;

    /// <summary>
    /// Row(ReadOnlySpan)'s statistics sixteen lanes wide with four independent sums per pass: one chain of
    /// n/8 dependent adds per statistic made a 256-channel row latency-bound. With bias or residual, the
    /// first pass also finishes the row: s = (s + bias) + residual, written back.
    /// </summary>
    static unsafe void Row512(float* s, float* bias, float* residual, float* gamma, float* beta, float eps, float* y, int n)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        bool finish = bias != null || residual != null;
        for (int i = 0; i < n; i += 64)
        {
            var v0 = Vector512.Load(s + i); var v1 = Vector512.Load(s + i + 16); var v2 = Vector512.Load(s + i + 32); var v3 = Vector512.Load(s + i + 48);
            if (bias != null)
            {
                v0 += Vector512.Load(bias + i); v1 += Vector512.Load(bias + i + 16); v2 += Vector512.Load(bias + i + 32); v3 += Vector512.Load(bias + i + 48);
            }
            if (residual != null)
            {
                v0 += Vector512.Load(residual + i); v1 += Vector512.Load(residual + i + 16);
                v2 += Vector512.Load(residual + i + 32); v3 += Vector512.Load(residual + i + 48);
            }
            if (finish)
            {
                v0.Store(s + i); v1.Store(s + i + 16); v2.Store(s + i + 32); v3.Store(s + i + 48);
            }
            a0 += v0; a1 += v1; a2 += v2; a3 += v3;
        }
        var mean = Vector512.Create(Vector512.Sum((a0 + a1) + (a2 + a3)) / n);
        Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default, s20 = default, s21 = default, s22 = default, s23 = default;
        for (int i = 0; i < n; i += 64)
        {
            var d0 = Vector512.Load(s + i) - mean; var d1 = Vector512.Load(s + i + 16) - mean;
            var d2 = Vector512.Load(s + i + 32) - mean; var d3 = Vector512.Load(s + i + 48) - mean;
            s10 += d0; s11 += d1; s12 += d2; s13 += d3;
            s20 = Vector512.FusedMultiplyAdd(d0, d0, s20); s21 = Vector512.FusedMultiplyAdd(d1, d1, s21);
            s22 = Vector512.FusedMultiplyAdd(d2, d2, s22); s23 = Vector512.FusedMultiplyAdd(d3, d3, s23);
        }
        float correction = Vector512.Sum((s10 + s11) + (s12 + s13)) / n;
        float variance = MathF.Max(Vector512.Sum((s20 + s21) + (s22 + s23)) / n - correction * correction, 0f);
        var rstd = Vector512.Create(1f / MathF.Sqrt(variance + eps));
        var shift = Vector512.Create(correction);
        for (int i = 0; i < n; i += 16)
        {
            var d = (Vector512.Load(s + i) - mean - shift) * rstd;
            Vector512.FusedMultiplyAdd(d, Vector512.Load(gamma + i), Vector512.Load(beta + i)).Store(y + i);
        }
    }

    /// <summary>
    /// Row(ReadOnlySpan) in three passes of eight lanes, the same statistics: seven TensorPrimitives
    /// calls a row cost more than the arithmetic for the decoder's 256 channels (~250 against ~60 ns).
    /// </summary>
    static void Row256(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pg = ref MemoryMarshal.GetReference(gamma);
        ref float pb = ref MemoryMarshal.GetReference(beta);
        ref float py = ref MemoryMarshal.GetReference(y);
        var sum = Vector256<float>.Zero;
        for (int i = 0; i < n; i += 8) sum += Vector256.LoadUnsafe(ref px, (nuint)i);
        var mean = Vector256.Create(Vector256.Sum(sum) / n);
        Vector256<float> s1 = Vector256<float>.Zero, s2 = Vector256<float>.Zero;
        for (int i = 0; i < n; i += 8)
        {
            var d = Vector256.LoadUnsafe(ref px, (nuint)i) - mean;
            s1 += d;
            s2 = Vector256.FusedMultiplyAdd(d, d, s2);
        }
        float correction = Vector256.Sum(s1) / n;
        float variance = MathF.Max(Vector256.Sum(s2) / n - correction * correction, 0f);
        var rstd = Vector256.Create(1f / MathF.Sqrt(variance + eps));
        var shift = Vector256.Create(correction);
        for (int i = 0; i < n; i += 8)
        {
            var d = (Vector256.LoadUnsafe(ref px, (nuint)i) - mean - shift) * rstd;
            Vector256.FusedMultiplyAdd(d, Vector256.LoadUnsafe(ref pg, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        }
    }

    // GPU-tuned: one group per row, the threads striding over it, statistics by group reduction.
    static void Tuned(Device device, Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, int rows, int c)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("layernorm_group", () =>
            acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(GroupKernel));
        kernel(new KernelConfig(rows, GroupReduce.GroupSize(acc, c)), x.View, gamma.View, beta.View, y.View, c, eps);
    }

    [SamKernel("layernorm_group", Grouped = true)]
    static void GroupKernel(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y, int c, float eps)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroup);
        long start = (long)Grid.IdxX * c;
        float sum = 0;
        for (int i = Group.IdxX; i < c; i += Group.DimX) sum += x[start + i];
        float mean = GroupReduce.Sum(sum, scratch) / c;
        float s1 = 0, s2 = 0;
        for (int i = Group.IdxX; i < c; i += Group.DimX)
        {
            float d = x[start + i] - mean;
            s1 += d;
            s2 += d * d;
        }
        float correction = GroupReduce.Sum(s1, scratch) / c;
        float variance = XMath.Max(GroupReduce.Sum(s2, scratch) / c - correction * correction, 0f);
        float rstd = 1f / XMath.Sqrt(variance + eps);
        for (int i = Group.IdxX; i < c; i += Group.DimX)
            y[start + i] = (x[start + i] - mean - correction) * rstd * gamma[i] + beta[i];
    }

    // Portable: whole rows per thread, no barriers.
    static void Portable(Device device, Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y, int rows, int c)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("layernorm_rows", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, GridStride>(RowKernel));
        var s = GridStride.For(acc, rows);
        kernel(s.Threads, x.View, gamma.View, beta.View, y.View, c, eps, s);
    }

    // Sums run in blocks of SumBlock so float error grows with C/SumBlock + SumBlock, not C.
    const int SumBlock = 32;

    [SamKernel("layernorm_rows")]
    static void RowKernel(Index1D thread, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y, int c, float eps, GridStride s)
    {
        for (int row = thread; row < s.Count; row += s.Threads)
        {
            long start = (long)row * c;
            float sum = 0;
            for (int b = 0; b < c; b += SumBlock)
            {
                float block = 0;
                for (int i = b; i < XMath.Min(b + SumBlock, c); i++) block += x[start + i];
                sum += block;
            }
            float mean = sum / c;
            float s1 = 0, s2 = 0;
            for (int b = 0; b < c; b += SumBlock)
            {
                float block1 = 0, block2 = 0;
                for (int i = b; i < XMath.Min(b + SumBlock, c); i++)
                {
                    float d = x[start + i] - mean;
                    block1 += d;
                    block2 += d * d;
                }
                s1 += block1;
                s2 += block2;
            }
            float correction = s1 / c;
            float variance = XMath.Max(s2 / c - correction * correction, 0f);
            float rstd = 1f / XMath.Sqrt(variance + eps);
            for (int i = 0; i < c; i++)
                y[start + i] = (x[start + i] - mean - correction) * rstd * gamma[i] + beta[i];
        }
    }

    public static double[] Reference(double[] x, double[] gamma, double[] beta, double eps)
    {
        int c = gamma.Length;
        var y = new double[x.Length];
        for (int start = 0; start < x.Length; start += c)
        {
            var row = x.AsSpan(start, c);
            double mean = 0, variance = 0;
            foreach (var v in row) mean += v;
            mean /= c;
            foreach (var v in row) variance += (v - mean) * (v - mean);
            variance /= c;
            double rstd = 1 / Math.Sqrt(variance + eps);
            for (int i = 0; i < c; i++) y[start + i] = (row[i] - mean) * rstd * gamma[i] + beta[i];
        }
        return y;
    }
}

internal sealed class LayerNormChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // Tuned kernels on ilgpu-cpu: every barrier is an OS-thread sync, so few rows there.
        bool small = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        int[][] shapes = small
            ? [[1, 1], [3, 7], [2, 33], [1, 3, 65], [2, 257], [1, 1000]]
            : [[1, 1], [5, 7], [9, 33], [2, 3, 65], [2, 2, 3, 257], [17, 1000], [64, 768]];
        foreach (var shape in shapes)
            foreach (var eps in new[] { 1e-6f, 1e-5f })
                yield return Case(Tensor.ShapeText(shape) + $" eps={eps:G1}", shape, eps, offset: 0, inPlace: false);
        // A mean far from zero against the spread, and the output written over the input.
        int[] last = shapes[^1];
        yield return Case(Tensor.ShapeText(last) + " offset 100", last, 1e-6f, offset: 100, inPlace: false);
        yield return Case(Tensor.ShapeText(last) + " in place", last, 1e-5f, offset: 0, inPlace: true);
    }

    // Each output is a few roundings of a value of order 1 (normalised ×gamma +beta, against a
    // reference max of ~2.5): ~3e-7; 1e-6 leaves room without hiding a wrong statistic.
    static KernelCheck Case(string name, int[] shape, float eps, float offset, bool inPlace) =>
        new("layernorm", name, 1e-6, d =>
        {
            int c = shape[^1];
            var x = CheckData.Uniform(31, Tensor.Count(shape), offset - 1, offset + 1);
            var gamma = CheckData.Uniform(32, c, 0.5f, 1.5f);
            var beta = CheckData.Uniform(33, c);
            using var tx = CheckData.Upload(d, x, shape);
            using var tg = CheckData.Upload(d, gamma, c);
            using var tb = CheckData.Upload(d, beta, c);
            using var ty = inPlace ? null : CheckData.Poisoned(d, shape);
            LayerNorm.Forward(tx, tg, tb, eps, ty ?? tx);
            return Comparison.Of(LayerNorm.Reference(CheckData.Widen(x), CheckData.Widen(gamma), CheckData.Widen(beta), eps),
                (ty ?? tx).Download());
        });
}
