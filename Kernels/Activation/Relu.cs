using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>y = max(x, 0). y may alias x. NaN stays NaN, as in PyTorch.</summary>
internal static class Relu
{
    public static void Forward(Tensor x, Tensor y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"relu: output {y.ShapeString} does not match input {x.ShapeString}");
        using var _ = Profiler.Launch(y.Device, "relu", x.Length, 2.0 * x.Length * sizeof(float));
        if (y.Device.IsIlgpu) Ilgpu(y.Device, x, y);
        else Elementwise.Cpu(x, y, static (a, b) => System.Numerics.Tensors.TensorPrimitives.Max(a, 0f, b));
    }

    static void Ilgpu(Device device, Tensor x, Tensor y)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("relu", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, GridStride>(ReluKernel));
        var s = GridStride.For(acc, x.Length);
        kernel(s.Threads, x.View, y.View, s);
    }

    // Not XMath.Max: the GPU's fmax drops NaN.
    [SamKernel("relu")]
    static void ReluKernel(Index1D thread, ArrayView<float> x, ArrayView<float> y, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads)
        {
            float v = x[i];
            y[i] = v < 0f ? 0f : v;
        }
    }

    public static double[] Reference(double[] x) => x.Select(v => Math.Max(v, 0)).ToArray();
}

internal sealed class ReluChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        foreach (var shape in new[] { new[] { 1 }, new[] { 7, 33 }, new[] { 2, 3, 7, 65 } })
            yield return new KernelCheck("relu", Tensor.ShapeText(shape), 0, d =>
            {
                var x = CheckData.Uniform(21, Tensor.Count(shape));
                using var tx = CheckData.Upload(d, x, shape);
                using var ty = CheckData.Poisoned(d, shape);
                Relu.Forward(tx, ty);
                return Comparison.Of(Relu.Reference(CheckData.Widen(x)), ty.Download());
            });
        yield return new KernelCheck("relu", "[1000] in place", 0, d =>
        {
            var x = CheckData.Uniform(22, 1000);
            using var t = CheckData.Upload(d, x, 1000);
            Relu.Forward(t, t);
            return Comparison.Of(Relu.Reference(CheckData.Widen(x)), t.Download());
        });
    }
}
