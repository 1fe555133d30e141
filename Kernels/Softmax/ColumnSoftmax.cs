using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// y = softmax(scale · x + bias) over axis −2 (torch's softmax(dim=-2)): x is [..., R, N], and each
/// of the N columns of every R×N block is one softmax over its R rows. bias (optional) is [..., R],
/// one value per row. y may alias x.
/// <para>
/// Attention whose keys are a few tokens and whose queries are thousands of image positions keeps
/// its scores keys-major, [R tokens, N positions], so that the score and value products are long
/// and thin GEMMs; the softmax then runs down the columns, N lanes at a time, rather than over
/// millions of rows of a few elements.
/// </para>
/// </summary>
internal static class ColumnSoftmax
{
    // Columns per native work item: R rows of them stay in L1 through the three passes.
    const int Strip = 256;

    public static void Forward(Tensor x, Tensor y, float scale = 1f, Tensor? bias = null)
    {
        if (x.Rank < 2) throw new ArgumentException($"column softmax: input {x.ShapeString} has no [R, N] blocks");
        int r = x.Dim(-2), n = x.Dim(-1);
        if (y.Length != x.Length) throw new ArgumentException($"column softmax: output {y.ShapeString} does not match input {x.ShapeString}");
        long blocks = r == 0 || n == 0 ? 0 : x.Length / ((long)r * n);
        if (bias != null && bias.Length != blocks * r)
            throw new ArgumentException($"column softmax: bias {bias.ShapeString} is not one value per row of {x.ShapeString}");
        if (x.Length == 0) return;
        using var _ = Profiler.Launch(y.Device, "column_softmax", 6.0 * x.Length, 4.0 * (2 * x.Length + (bias?.Length ?? 0)));
        if (y.Device.IsIlgpu) Ilgpu(y.Device, x, y, scale, bias, checked((int)blocks), r, n);
        else Cpu(x, y, scale, bias, checked((int)blocks), r, n);
    }

    // Native: per strip of columns, the logits with their running maximum, then exp and the
    // running sum, then the division, each pass a vector operation along a row.
    static void Cpu(Tensor x, Tensor y, float scale, Tensor? bias, int blocks, int r, int n)
    {
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        var (ba, bo) = bias != null ? bias.HostArray : (Array.Empty<float>(), 0);
        int strips = (n + Strip - 1) / Strip;
        RowBlocks.For(blocks * strips, (long)r * Math.Min(n, Strip), (start, end) =>
        {
            Span<float> max = stackalloc float[Strip], sum = stackalloc float[Strip];
            for (int item = start; item < end; item++)
            {
                int block = item / strips, c0 = item % strips * Strip, w = Math.Min(Strip, n - c0);
                long first = (long)block * r * n + c0;
                Span<float> Row(float[] a, int offset, int i) => a.AsSpan(checked((int)(offset + first + (long)i * n)), w);
                var m = max[..w];
                var s = sum[..w];
                for (int i = 0; i < r; i++)
                {
                    var logits = Row(ya, yo, i);
                    TensorPrimitives.Multiply(Row(xa, xo, i), scale, logits);
                    if (bias != null) TensorPrimitives.Add(logits, ba[bo + block * r + i], logits);
                    if (i == 0) logits.CopyTo(m);
                    else TensorPrimitives.Max(m, logits, m);
                }
                for (int i = 0; i < r; i++)
                {
                    var e = Row(ya, yo, i);
                    TensorPrimitives.Subtract(e, m, e);
                    VectorExp.Exp(e, e);
                    if (i == 0) e.CopyTo(s);
                    else TensorPrimitives.Add(s, e, s);
                }
                for (int i = 0; i < r; i++) TensorPrimitives.Divide(Row(ya, yo, i), s, Row(ya, yo, i));
            }
        });
    }

    static void Ilgpu(Device device, Tensor x, Tensor y, float scale, Tensor? bias, int blocks, int r, int n)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("column_softmax", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, GridStride>(ColumnKernel));
        var s = GridStride.For(acc, (long)blocks * n);
        kernel(s.Threads, x.View, y.View, (bias ?? x).View, r, n, bias != null ? 1 : 0, scale, s);
    }

    // One thread per column: neighbouring threads read neighbouring elements of each row.
    [SamKernel("column_softmax")]
    static void ColumnKernel(Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<float> bias, int r, int n, int hasBias,
        float scale, GridStride s)
    {
        for (int column = thread; column < s.Count; column += s.Threads)
        {
            int block = column / n;
            long start = (long)block * r * n + column % n;
            float max = -float.MaxValue;
            for (int i = 0; i < r; i++) max = XMath.Max(max, Logit(x, bias, hasBias, start, block * r + i, i, n, scale));
            float sum = 0;
            for (int i = 0; i < r; i++) sum += XMath.Exp(Logit(x, bias, hasBias, start, block * r + i, i, n, scale) - max);
            for (int i = 0; i < r; i++)
                y[start + (long)i * n] = XMath.Exp(Logit(x, bias, hasBias, start, block * r + i, i, n, scale) - max) / sum;
        }
    }

    static float Logit(ArrayView<float> x, ArrayView<float> bias, int hasBias, long start, int row, int i, int n, float scale) =>
        hasBias != 0 ? scale * x[start + (long)i * n] + bias[row] : scale * x[start + (long)i * n];

    public static double[] Reference(double[] x, int r, int n, double scale, double[]? bias)
    {
        var y = new double[x.Length];
        for (long first = 0, block = 0; first < x.Length; first += (long)r * n, block++)
            for (int j = 0; j < n; j++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int i = 0; i < r; i++)
                {
                    long at = first + (long)i * n + j;
                    y[at] = scale * x[at] + (bias?[block * r + i] ?? 0);
                    max = Math.Max(max, y[at]);
                }
                for (int i = 0; i < r; i++) sum += y[first + (long)i * n + j] = Math.Exp(y[first + (long)i * n + j] - max);
                for (int i = 0; i < r; i++) y[first + (long)i * n + j] /= sum;
            }
        return y;
    }
}

internal sealed class ColumnSoftmaxChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // The decoder's shape is [B·heads, tokens, 4096]; these cover one row, odd widths, strips
        // of 256 with a remainder and several blocks.
        int[][] shapes = [[1, 1], [1, 5], [7, 1], [3, 7, 33], [2, 4, 6, 300], [16, 7, 520]];
        foreach (var shape in shapes)
            yield return Case(Tensor.ShapeText(shape), shape, 1f, false, false);
        int[] mid = shapes[4], last = shapes[^1];
        yield return Case(Tensor.ShapeText(mid) + " scale 0.25", mid, 0.25f, false, false);
        yield return Case(Tensor.ShapeText(mid) + " +bias", mid, 0.25f, true, false);
        yield return Case(Tensor.ShapeText(last) + " +bias in place", last, 1f, true, true);
    }

    // As Softmax's check: logits in [−8, 8], a few roundings of exp, sum and division on top.
    static KernelCheck Case(string name, int[] shape, float scale, bool withBias, bool inPlace) =>
        new("column_softmax", name, 1e-6, d =>
        {
            int r = shape.Length > 1 ? shape[^2] : 1;
            var x = CheckData.Uniform(61, Tensor.Count(shape), -6, 6);
            int[] biasShape = shape[..^1];
            var bias = withBias ? CheckData.Uniform(62, Tensor.Count(biasShape), -2, 2) : null;
            using var tx = CheckData.Upload(d, x, shape);
            using var tb = bias != null ? CheckData.Upload(d, bias, biasShape) : null;
            using var ty = inPlace ? null : CheckData.Poisoned(d, shape);
            ColumnSoftmax.Forward(tx, ty ?? tx, scale, tb);
            return Comparison.Of(ColumnSoftmax.Reference(CheckData.Widen(x), r, shape[^1], scale, bias != null ? CheckData.Widen(bias) : null),
                (ty ?? tx).Download());
        });
}
