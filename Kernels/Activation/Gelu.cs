using System.Runtime.Intrinsics;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>Exact GELU: y = x · ½(1 + erf(x/√2)). y may alias x.</summary>
internal static class Gelu
{
    // The erf polynomial, exp and the blend: about this many flops per element.
    const double FlopsPerElement = 40;

    public static void Forward(Tensor x, Tensor y)
    {
        if (y.Length != x.Length) throw new ArgumentException($"gelu: output {y.ShapeString} does not match input {x.ShapeString}");
        using var _ = Profiler.Launch(y.Device, "gelu", FlopsPerElement * x.Length, 2.0 * x.Length * sizeof(float));
        if (y.Device.IsIlgpu) Ilgpu(y.Device, x, y);
        else Elementwise.Cpu(x, y, Span);
    }

    /// <summary>The native path over host spans (y may alias x).</summary>
    internal static void Span(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
                GeluMath.Gelu(Vector512.Create(x.Slice(i))).CopyTo(y.Slice(i));
        else if (Vector256.IsHardwareAccelerated)
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
                GeluMath.Gelu(Vector256.Create(x.Slice(i))).CopyTo(y.Slice(i));
        for (; i < x.Length; i++) y[i] = GeluMath.Gelu(x[i]);
    }

    static void Ilgpu(Device device, Tensor x, Tensor y)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("gelu", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, GridStride>(GeluKernel));
        var s = GridStride.For(acc, x.Length);
        kernel(s.Threads, x.View, y.View, s);
    }

    [SamKernel("gelu")]
    static void GeluKernel(Index1D thread, ArrayView<float> x, ArrayView<float> y, GridStride s)
    {
        for (int i = thread; i < s.Count; i += s.Threads) y[i] = GeluMath.Gelu(x[i]);
    }

    public static double[] Reference(double[] x) =>
        x.Select(v => 0.5 * v * MathNet.Numerics.SpecialFunctions.Erfc(-v / Math.Sqrt(2))).ToArray();
}

internal sealed class GeluChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        foreach (var shape in new[] { new[] { 1 }, new[] { 7, 33 }, new[] { 3, 5, 65 }, new[] { 2, 3, 7, 257 } })
            yield return new KernelCheck("gelu", Tensor.ShapeText(shape), 2e-7, d =>
            {
                // Spans both erf branches and the saturated tails.
                var x = CheckData.Uniform(11, Tensor.Count(shape), -8, 8);
                using var tx = CheckData.Upload(d, x, shape);
                using var ty = CheckData.Poisoned(d, shape);
                Gelu.Forward(tx, ty);
                return Comparison.Of(Gelu.Reference(CheckData.Widen(x)), ty.Download());
            });
        yield return new KernelCheck("gelu", "[1000] in place", 2e-7, d =>
        {
            var x = CheckData.Uniform(12, 1000, -4, 4);
            using var t = CheckData.Upload(d, x, 1000);
            Gelu.Forward(t, t);
            return Comparison.Of(Gelu.Reference(CheckData.Widen(x)), t.Download());
        });
    }
}
