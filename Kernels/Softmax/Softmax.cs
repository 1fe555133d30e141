using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// y = softmax(scale · x + bias) over the last axis; bias (optional) is x's shape or a trailing
/// block of whole rows repeated over leading axes (as in Add). y may alias x.
/// The row maximum is subtracted before exp, so any finite logits work; a row of −∞ gives NaN,
/// as in PyTorch.
/// </summary>
internal static class Softmax
{
    public static void Forward(Tensor x, Tensor y, float scale = 1f, Tensor? bias = null)
    {
        int n = x.Rank == 0 ? 0 : x.Dim(-1);
        if (n == 0) throw new ArgumentException($"softmax: input {x.ShapeString} has no last axis");
        if (y.Length != x.Length) throw new ArgumentException($"softmax: output {y.ShapeString} does not match input {x.ShapeString}");
        if (bias != null && (bias.Length == 0 || bias.Length % n != 0 || x.Length % bias.Length != 0))
            throw new ArgumentException($"softmax: bias {bias.ShapeString} does not broadcast over rows of {x.ShapeString}");
        int rows = checked((int)(x.Length / n));
        using var _ = Profiler.Launch(y.Device, "softmax", 6.0 * x.Length,
            4.0 * (2 * x.Length + (bias?.Length ?? 0)));
        if (!y.Device.IsIlgpu) Cpu(x, y, scale, bias, rows, n);
        else if (y.Device.Variant == KernelVariant.Tuned) Tuned(y.Device, x, y, scale, bias, rows, n);
        else Portable(y.Device, x, y, scale, bias, rows, n);
    }

    static void Cpu(Tensor x, Tensor y, float scale, Tensor? bias, int rows, int n)
    {
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        var (ba, bo) = bias != null ? bias.HostArray : (Array.Empty<float>(), 0);
        int biasLength = bias != null ? checked((int)bias.Length) : 0;
        RowBlocks.For(rows, n, (start, end) =>
        {
            for (int r = start; r < end; r++)
            {
                var logits = ya.AsSpan(yo + r * n, n);
                var row = xa.AsSpan(xo + r * n, n);
                if (bias != null) TensorPrimitives.MultiplyAdd(row, scale, ba.AsSpan(bo + (int)((long)r * n % biasLength), n), logits);
                else TensorPrimitives.Multiply(row, scale, logits);
                TensorPrimitives.Subtract(logits, TensorPrimitives.Max(logits), logits);
                VectorExp.Exp(logits, logits);
                TensorPrimitives.Divide(logits, TensorPrimitives.Sum(logits), logits);
            }
        });
    }

    // GPU-tuned: one group per row. Each thread keeps a running max and a sum of exp relative to
    // it over its strided elements (one read of x); the group combines them, then a second pass
    // writes exp(t − max) / sum.
    static void Tuned(Device device, Tensor x, Tensor y, float scale, Tensor? bias, int rows, int n)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("softmax_group", () =>
            acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(GroupKernel));
        kernel(new KernelConfig(rows, GroupReduce.GroupSize(acc, n)), x.View, y.View, (bias ?? x).View, n,
            bias != null ? checked((int)bias.Length) : 0, scale);
    }

    [SamKernel("softmax_group", Grouped = true)]
    static void GroupKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias, int n, int biasLength, float scale)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroup);
        long start = (long)Grid.IdxX * n;
        long biasStart = biasLength > 0 ? start % biasLength : 0;
        // −MaxValue rather than −∞: a −∞ logit then adds exp(−∞) = 0 instead of exp(NaN).
        float max = -float.MaxValue, sum = 0;
        for (int i = Group.IdxX; i < n; i += Group.DimX)
        {
            float t = Logit(x, bias, start, biasStart, biasLength, i, scale);
            if (t > max)
            {
                sum = sum * XMath.Exp(max - t) + 1f;
                max = t;
            }
            else sum += XMath.Exp(t - max);
        }
        float rowMax = GroupReduce.Max(max, scratch);
        float rowSum = GroupReduce.Sum(sum * XMath.Exp(max - rowMax), scratch);
        float inverse = 1f / rowSum;
        for (int i = Group.IdxX; i < n; i += Group.DimX)
            y[start + i] = XMath.Exp(Logit(x, bias, start, biasStart, biasLength, i, scale) - rowMax) * inverse;
    }

    // Portable: one thread per row: the max, then the sum of exps in blocks so that float error
    // grows with n/SumBlock + SumBlock rather than n (balanced for the 4096-long global rows).
    const int SumBlock = 64;

    static void Portable(Device device, Tensor x, Tensor y, float scale, Tensor? bias, int rows, int n)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("softmax_rows", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(RowKernel));
        kernel(rows, x.View, y.View, (bias ?? x).View, n, bias != null ? checked((int)bias.Length) : 0, scale);
    }

    [SamKernel("softmax_rows")]
    static void RowKernel(Index1D row, ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias, int n, int biasLength, float scale)
    {
        long start = (long)row.X * n;
        long biasStart = biasLength > 0 ? start % biasLength : 0;
        float max = -float.MaxValue;
        for (int i = 0; i < n; i++) max = XMath.Max(max, Logit(x, bias, start, biasStart, biasLength, i, scale));
        float sum = 0;
        for (int b = 0; b < n; b += SumBlock)
        {
            float block = 0;
            for (int i = b; i < XMath.Min(b + SumBlock, n); i++)
                block += XMath.Exp(Logit(x, bias, start, biasStart, biasLength, i, scale) - max);
            sum += block;
        }
        float inverse = 1f / sum;
        for (int i = 0; i < n; i++)
            y[start + i] = XMath.Exp(Logit(x, bias, start, biasStart, biasLength, i, scale) - max) * inverse;
    }

    static float Logit(ArrayView<float> x, ArrayView<float> bias, long start, long biasStart, int biasLength, int i, float scale) =>
        biasLength > 0 ? scale * x[start + i] + bias[biasStart + i] : scale * x[start + i];

    public static double[] Reference(double[] x, int n, double scale, double[]? bias)
    {
        var y = new double[x.Length];
        for (int start = 0; start < x.Length; start += n)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int i = 0; i < n; i++)
            {
                y[start + i] = scale * x[start + i] + (bias != null ? bias[(start + i) % bias.Length] : 0);
                max = Math.Max(max, y[start + i]);
            }
            for (int i = 0; i < n; i++) sum += y[start + i] = Math.Exp(y[start + i] - max);
            for (int i = 0; i < n; i++) y[start + i] /= sum;
        }
        return y;
    }
}

internal sealed class SoftmaxChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // Tuned kernels on ilgpu-cpu: every barrier is an OS-thread sync, so few rows there.
        bool small = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        int[][] shapes = small
            ? [[1, 1], [3, 7], [2, 33], [1, 2, 65], [2, 257], [1, 1000], [1, 4096]]
            : [[1, 1], [5, 7], [9, 33], [2, 3, 65], [2, 2, 3, 257], [17, 1000], [2, 4, 7, 65], [24, 4096]];
        foreach (var shape in shapes)
            yield return Case(Tensor.ShapeText(shape), shape, 1f, null, false);
        int[] mid = shapes[4], last = shapes[^1];
        yield return Case(Tensor.ShapeText(mid) + " scale 0.125", mid, 0.125f, null, false);
        yield return Case(Tensor.ShapeText(mid) + " +bias same shape", mid, 0.3f, mid, false);
        yield return Case(Tensor.ShapeText(mid) + " +bias row", mid, 1f, [mid[^1]], false);
        yield return Case(Tensor.ShapeText(mid) + " +bias trailing", mid, 1f, mid[^2..], false);
        yield return Case(Tensor.ShapeText(last) + " in place", last, 0.5f, null, true);
        yield return Case(Tensor.ShapeText(last) + " +bias in place", last, 0.5f, [last[^1]], true);
    }

    // Logits in [−8, 8]: exp turns their rounding (≤ ½ulp(8) ≈ 5e-7 absolute) into the same
    // relative error in each output, on top of a few roundings of exp, sum and scale.
    static KernelCheck Case(string name, int[] shape, float scale, int[]? biasShape, bool inPlace) =>
        new("softmax", name, 1e-6, d =>
        {
            var x = CheckData.Uniform(51, Tensor.Count(shape), -6, 6);
            var bias = biasShape != null ? CheckData.Uniform(52, Tensor.Count(biasShape), -2, 2) : null;
            using var tx = CheckData.Upload(d, x, shape);
            using var tb = bias != null ? CheckData.Upload(d, bias, biasShape!) : null;
            using var ty = inPlace ? null : CheckData.Poisoned(d, shape);
            Softmax.Forward(tx, ty ?? tx, scale, tb);
            return Comparison.Of(Softmax.Reference(CheckData.Widen(x), shape[^1], scale, bias != null ? CheckData.Widen(bias) : null),
                (ty ?? tx).Download());
        });
}
