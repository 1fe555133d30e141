using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>What the GEMM epilogue applies after alpha·A·B + bias, before the residual.</summary>
public enum Activation
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
public static class Gemm
{
    public static void Forward(Tensor a, Tensor b, Tensor c, bool transA = false, bool transB = false, float alpha = 1f,
        Tensor? bias = null, Activation activation = Activation.None, Tensor? residual = null)
    {
        var s = GemmShape.Of(a, b, c, transA, transB, bias, residual);
        using var _ = Profiler.Launch(c.Device, "gemm", 2.0 * s.Batch * s.M * s.N * s.K,
            4.0 * (a.Length + b.Length + c.Length + (residual?.Length ?? 0)));
        if (c.Device.IsIlgpu) Naive(c.Device, a, b, c, s, alpha, bias, activation, residual);
        else NaiveCpu(a, b, c, s, alpha, bias, activation, residual);
    }

    // Placeholder until the tiled kernels land: one output per thread.
    static void NaiveCpu(Tensor a, Tensor b, Tensor c, GemmShape s, float alpha, Tensor? bias, Activation act, Tensor? residual)
    {
        var A = a.Span; var B = b.Span; var C = c.Span;
        var bs = bias != null ? bias.Span : default;
        var rs = residual != null ? residual.Span : default;
        float[]? res = residual != null ? rs.ToArray() : null;
        for (int bi = 0; bi < s.Batch; bi++)
            for (int i = 0; i < s.M; i++)
                for (int j = 0; j < s.N; j++)
                {
                    float acc = 0;
                    for (int k = 0; k < s.K; k++) acc += A[(int)s.IndexA(bi, i, k)] * B[(int)s.IndexB(bi, k, j)];
                    float v = alpha * acc + (bias != null ? bs[j] : 0);
                    v = act == Activation.Relu ? MathF.Max(v, 0) : act == Activation.Gelu ? GeluMath.Gelu(v) : v;
                    long o = (long)bi * s.M * s.N + (long)i * s.N + j;
                    C[(int)o] = v + (res != null ? res[o] : 0);
                }
    }

    static void Naive(Device device, Tensor a, Tensor b, Tensor c, GemmShape s, float alpha, Tensor? bias, Activation act, Tensor? residual)
    {
        throw new NotImplementedException("gemm on ILGPU devices lands with the GEMM kernels");
    }
}

/// <summary>The validated dimensions of one GEMM call and its operand index maps.</summary>
public readonly record struct GemmShape(int Batch, int M, int N, int K, bool TransA, bool TransB, bool BatchA, bool BatchB)
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
        return new GemmShape(batch, m, n, ak, transA, transB, batchA, batchB);
    }
}
