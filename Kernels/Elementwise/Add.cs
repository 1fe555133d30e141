using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// y = a + b, where b is either a's shape or a trailing block of it repeated over the leading
/// axes (a bias row, a position embedding added to every batch item). y may alias a.
/// </summary>
internal static class Add
{
    public static void Forward(Tensor a, Tensor b, Tensor y)
    {
        if (y.Length != a.Length) throw new ArgumentException($"add: output {y.ShapeString} does not match input {a.ShapeString}");
        if (b.Length == 0 || a.Length % b.Length != 0)
            throw new ArgumentException($"add: {b.ShapeString} does not broadcast over {a.ShapeString}");
        using var _ = Profiler.Launch(y.Device, "add", a.Length, 3.0 * a.Length * sizeof(float));
        if (y.Device.IsIlgpu) Ilgpu(y.Device, a, b, y);
        else Cpu(a.Span, b.Span, y.Span);
    }

    // Native: the runtime's vectorised add over each repeat of b.
    static void Cpu(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        for (int start = 0; start < a.Length; start += b.Length)
            System.Numerics.Tensors.TensorPrimitives.Add(a.Slice(start, b.Length), b, y.Slice(start, b.Length));
    }

    static void Ilgpu(Device device, Tensor a, Tensor b, Tensor y)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("add", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, GridStride>(AddKernel));
        var s = GridStride.For(acc, a.Length);
        kernel(s.Threads, a.View, b.View, y.View, checked((int)b.Length), s);
    }

    [SamKernel("add")]
    static void AddKernel(Index1D thread, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int bLength, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads) y[i] = a[i] + b[i % bLength];
    }

    public static double[] Reference(double[] a, double[] b)
    {
        var y = new double[a.Length];
        for (int i = 0; i < a.Length; i++) y[i] = a[i] + b[i % b.Length];
        return y;
    }
}

internal sealed class AddChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        foreach (var (shape, bShape) in new[] { (new[] { 7, 33 }, new[] { 7, 33 }), (new[] { 3, 5, 129 }, new[] { 129 }), (new[] { 1, 1 }, new[] { 1 }) })
            yield return new KernelCheck("add", Tensor.ShapeText(shape) + "+" + Tensor.ShapeText(bShape), 1e-7, d =>
            {
                var a = CheckData.Uniform(1, Tensor.Count(shape));
                var b = CheckData.Uniform(2, Tensor.Count(bShape));
                using var ta = CheckData.Upload(d, a, shape);
                using var tb = CheckData.Upload(d, b, bShape);
                using var ty = CheckData.Poisoned(d, shape);
                Add.Forward(ta, tb, ty);
                return Comparison.Of(Add.Reference(CheckData.Widen(a), CheckData.Widen(b)), ty.Download());
            });
    }
}
