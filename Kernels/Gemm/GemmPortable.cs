using ILGPU;
using ILGPU.Algorithms;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// Barrier-free GEMM: each thread computes a 4×8 block of C in registers, reading A and B
/// straight from global memory. Each A value is used 8 times and each B value 4 times per
/// load, which is what makes it usable on ILGPU's CPU accelerator, where a barrier costs an
/// OS-thread sync and a shared-memory tile would cost far more than it saves.
/// </summary>
static class GemmPortable
{
    const int TM = 4, TN = 8;

    /// <summary>One thread per 4×8 block: x over column blocks (adjacent threads, adjacent columns), y over row blocks, z over the batch.</summary>
    public static Index3D Extent(GemmShape s) => new((s.N + TN - 1) / TN, (s.M + TM - 1) / TM, s.Batch);

    [SamKernel("gemm_portable")]
    public static void Kernel(Index3D t, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs p)
    {
        int i0 = t.Y * TM, j0 = t.X * TN;
        var A = a.SubView(t.Z * p.ABatch, a.Length - t.Z * p.ABatch);
        var B = b.SubView(t.Z * p.BBatch, b.Length - t.Z * p.BBatch);

        // Rows and columns past the edge are clamped onto the last valid one: their loads stay
        // in bounds, and their sums are never stored.
        int last = p.M - 1;
        int a0 = XMath.Min(i0, last) * p.ARow, a1 = XMath.Min(i0 + 1, last) * p.ARow;
        int a2 = XMath.Min(i0 + 2, last) * p.ARow, a3 = XMath.Min(i0 + 3, last) * p.ARow;
        last = p.N - 1;
        int b0 = XMath.Min(j0, last) * p.BCol, b1 = XMath.Min(j0 + 1, last) * p.BCol;
        int b2 = XMath.Min(j0 + 2, last) * p.BCol, b3 = XMath.Min(j0 + 3, last) * p.BCol;
        int b4 = XMath.Min(j0 + 4, last) * p.BCol, b5 = XMath.Min(j0 + 5, last) * p.BCol;
        int b6 = XMath.Min(j0 + 6, last) * p.BCol, b7 = XMath.Min(j0 + 7, last) * p.BCol;

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
        for (int k = 0; k < p.K; k++)
        {
            int ak = k * p.ACol, bk = k * p.BRow;
            float x0 = A[a0 + ak], x1 = A[a1 + ak], x2 = A[a2 + ak], x3 = A[a3 + ak];
            float y0 = B[bk + b0], y1 = B[bk + b1], y2 = B[bk + b2], y3 = B[bk + b3];
            float y4 = B[bk + b4], y5 = B[bk + b5], y6 = B[bk + b6], y7 = B[bk + b7];
            c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3; c04 += x0 * y4; c05 += x0 * y5; c06 += x0 * y6; c07 += x0 * y7;
            c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3; c14 += x1 * y4; c15 += x1 * y5; c16 += x1 * y6; c17 += x1 * y7;
            c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3; c24 += x2 * y4; c25 += x2 * y5; c26 += x2 * y6; c27 += x2 * y7;
            c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3; c34 += x3 * y4; c35 += x3 * y5; c36 += x3 * y6; c37 += x3 * y7;
        }

        long o = (long)t.Z * p.M * p.N + (long)i0 * p.N + j0;
        Row(c, bias, residual, p, i0, j0, o, c00, c01, c02, c03, c04, c05, c06, c07);
        Row(c, bias, residual, p, i0 + 1, j0, o + p.N, c10, c11, c12, c13, c14, c15, c16, c17);
        Row(c, bias, residual, p, i0 + 2, j0, o + 2 * p.N, c20, c21, c22, c23, c24, c25, c26, c27);
        Row(c, bias, residual, p, i0 + 3, j0, o + 3 * p.N, c30, c31, c32, c33, c34, c35, c36, c37);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static void Row(ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual, GemmArgs p, int i, int j, long o,
        float s0, float s1, float s2, float s3, float s4, float s5, float s6, float s7)
    {
        if (i >= p.M) return;
        if (j < p.N) GemmArgs.Store(c, bias, residual, p, o, j, s0);
        if (j + 1 < p.N) GemmArgs.Store(c, bias, residual, p, o + 1, j + 1, s1);
        if (j + 2 < p.N) GemmArgs.Store(c, bias, residual, p, o + 2, j + 2, s2);
        if (j + 3 < p.N) GemmArgs.Store(c, bias, residual, p, o + 3, j + 3, s3);
        if (j + 4 < p.N) GemmArgs.Store(c, bias, residual, p, o + 4, j + 4, s4);
        if (j + 5 < p.N) GemmArgs.Store(c, bias, residual, p, o + 5, j + 5, s5);
        if (j + 6 < p.N) GemmArgs.Store(c, bias, residual, p, o + 6, j + 6, s6);
        if (j + 7 < p.N) GemmArgs.Store(c, bias, residual, p, o + 7, j + 7, s7);
    }
}
