using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>What the GEMM epilogue applies after alpha·A·B + bias, before the residual.</summary>
internal enum Activation
{
    None,
    Gelu,
    Relu,
}

/// <summary>
/// C[b] = act(alpha · op(A[b]) · op(B[b]) + bias) + residual[b].
/// A is [batch, M, K] ([batch, K, M] when transA), B is [batch, K, N] ([batch, N, K] when
/// transB), C and residual are [batch, M, N], bias is [N]; all contiguous. Rank-2 operands are
/// batch 1; a rank-2 A or B with a rank-3 C is shared by every batch item. residual may alias C.
/// </summary>
internal static class Gemm
{
    public static void Forward(Tensor a, Tensor b, Tensor c, bool transA = false, bool transB = false, float alpha = 1f,
        Tensor? bias = null, Activation activation = Activation.None, Tensor? residual = null)
    {
        var s = GemmShape.Of(a, b, c, transA, transB, bias, residual);
        using var _ = Profiler.Launch(c.Device, "gemm", 2.0 * s.Batch * s.M * s.N * s.K,
            4.0 * (a.Length + b.Length + c.Length + (residual?.Length ?? 0)));
        if (c.Length == 0) return;
        if (c.Device.IsIlgpu) Ilgpu(c.Device, a, b, c, s, alpha, bias, activation, residual);
        else Cpu(a, b, c, s, alpha, bias, activation, residual);
    }

    static void Cpu(Tensor a, Tensor b, Tensor c, GemmShape s, float alpha, Tensor? bias, Activation act, Tensor? residual)
    {
        var (aArr, aOff) = a.HostArray;
        var (bArr, bOff) = b.HostArray;
        var (cArr, cOff) = c.HostArray;
        var (biasArr, biasOff) = bias != null ? bias.HostArray : (null, 0);
        var (rArr, rOff) = residual != null ? residual.HostArray : (null, 0);
        GemmCpu.Run(s, aArr.AsSpan(aOff, (int)a.Length), bArr.AsSpan(bOff, (int)b.Length), cArr.AsSpan(cOff, (int)c.Length),
            alpha, biasArr != null ? biasArr.AsSpan(biasOff, s.N) : default, act,
            rArr != null ? rArr.AsSpan(rOff, (int)c.Length) : default);
    }

    static void Ilgpu(Device device, Tensor a, Tensor b, Tensor c, GemmShape s, float alpha, Tensor? bias, Activation act, Tensor? residual)
    {
        var args = GemmArgs.Of(s, alpha, bias != null, act, residual != null);
        // Absent operands still need a view to pass; the flags keep the kernel from reading them.
        var biasView = bias?.View ?? c.View;
        var residualView = residual?.View ?? c.View;
        var acc = device.RequireAccelerator();
        if (device.Variant == KernelVariant.Tuned)
        {
            var kernel = device.Kernels.Get("gemm_tiled", () => acc.LoadStreamKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmTiled.Kernel));
            kernel(GemmTiled.Config(s, acc), a.View, b.View, c.View, biasView, residualView, args);
        }
        else
        {
            var kernel = device.Kernels.Get("gemm_portable", () => acc.LoadAutoGroupedStreamKernel<
                Index3D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmPortable.Kernel));
            kernel(GemmPortable.Extent(s), a.View, b.View, c.View, biasView, residualView, args);
        }
    }

    /// <summary>The definition in float64, one dot product per output.</summary>
    public static double[] Reference(double[] a, double[] b, GemmShape s, double alpha = 1, double[]? bias = null,
        Activation activation = Activation.None, double[]? residual = null)
    {
        var c = new double[(long)s.Batch * s.M * s.N];
        for (int bi = 0; bi < s.Batch; bi++)
            for (int i = 0; i < s.M; i++)
                for (int j = 0; j < s.N; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < s.K; k++) sum += a[s.IndexA(bi, i, k)] * b[s.IndexB(bi, k, j)];
                    double v = alpha * sum + (bias?[j] ?? 0);
                    v = activation switch
                    {
                        Activation.Gelu => 0.5 * v * (1 + MathNet.Numerics.SpecialFunctions.Erf(v / Math.Sqrt(2))),
                        Activation.Relu => Math.Max(v, 0),
                        _ => v,
                    };
                    long o = ((long)bi * s.M + i) * s.N + j;
                    c[o] = v + (residual?[o] ?? 0);
                }
        return c;
    }
}

/// <summary>The validated dimensions of one GEMM call and its operand index maps.</summary>
internal readonly record struct GemmShape(int Batch, int M, int N, int K, bool TransA, bool TransB, bool BatchA, bool BatchB)
{
    public long IndexA(int b, int i, int k) => (BatchA ? (long)b * M * K : 0) + (TransA ? (long)k * M + i : (long)i * K + k);
    public long IndexB(int b, int k, int j) => (BatchB ? (long)b * K * N : 0) + (TransB ? (long)j * K + k : (long)k * N + j);

    public static GemmShape Of(Tensor a, Tensor b, Tensor c, bool transA, bool transB, Tensor? bias, Tensor? residual)
    {
        if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3 || c.Rank is < 2 or > 3)
            throw new ArgumentException($"gemm: operands must be rank 2 or 3, got {a.ShapeString}·{b.ShapeString}→{c.ShapeString}");
        int batch = c.Rank == 3 ? c.Shape[0] : 1;
        int m = c.Dim(-2), n = c.Dim(-1);
        int am = transA ? a.Dim(-1) : a.Dim(-2), ak = transA ? a.Dim(-2) : a.Dim(-1);
        int bk = transB ? b.Dim(-1) : b.Dim(-2), bn = transB ? b.Dim(-2) : b.Dim(-1);
        bool batchA = a.Rank == 3 && a.Shape[0] != 1 || a.Rank == 3 && batch == 1;
        bool batchB = b.Rank == 3 && b.Shape[0] != 1 || b.Rank == 3 && batch == 1;
        if (am != m || bn != n || ak != bk
            || (a.Rank == 3 && a.Shape[0] != batch && a.Shape[0] != 1)
            || (b.Rank == 3 && b.Shape[0] != batch && b.Shape[0] != 1))
            throw new ArgumentException($"gemm: shapes do not agree: {a.ShapeString}{(transA ? "ᵀ" : "")}·{b.ShapeString}{(transB ? "ᵀ" : "")}→{c.ShapeString}");
        if (bias != null && bias.Length != n) throw new ArgumentException($"gemm: bias {bias.ShapeString} is not [{n}]");
        if (residual != null && residual.Length != c.Length) throw new ArgumentException($"gemm: residual {residual.ShapeString} is not {c.ShapeString}");
        // Kernels index within one matrix in 32 bits.
        if ((long)m * ak > int.MaxValue || (long)ak * n > int.MaxValue || (long)m * n > int.MaxValue)
            throw new ArgumentException($"gemm: a matrix of {a.ShapeString}·{b.ShapeString}→{c.ShapeString} exceeds 2³¹ elements");
        return new GemmShape(batch, m, n, ak, transA, transB, batchA, batchB);
    }
}
