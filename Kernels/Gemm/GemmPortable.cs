using ILGPU;
using ILGPU.Algorithms;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// Barrier-free GEMM: each thread computes a 4×8 block of C in registers, reading A and B
/// straight from global memory. Each A value is used 8 times and each B value 4 times per
/// load, which is what makes it usable on ILGPU's CPU accelerator, where a barrier costs an
/// OS-thread sync and a shared-memory tile would cost far more than it saves.
/// <para>
/// The sums run in blocks of <see cref="KBlock"/> along K: each block is accumulated from zero,
/// then added to the running total, so rounding error grows with KBlock + K/KBlock instead of
/// K (for the attention's 4096-long value products, 128 instead of 4096 roundings deep).
/// </para>
/// </summary>
static class GemmPortable
{
    const int TM = 4, TN = 8, KBlock = 64;

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
        for (int k0 = 0; k0 < p.K; k0 += KBlock)
        {
            float d00 = 0, d01 = 0, d02 = 0, d03 = 0, d04 = 0, d05 = 0, d06 = 0, d07 = 0;
            float d10 = 0, d11 = 0, d12 = 0, d13 = 0, d14 = 0, d15 = 0, d16 = 0, d17 = 0;
            float d20 = 0, d21 = 0, d22 = 0, d23 = 0, d24 = 0, d25 = 0, d26 = 0, d27 = 0;
            float d30 = 0, d31 = 0, d32 = 0, d33 = 0, d34 = 0, d35 = 0, d36 = 0, d37 = 0;
            int kEnd = XMath.Min(k0 + KBlock, p.K);
            for (int k = k0; k < kEnd; k++)
            {
                int ak = k * p.ACol, bk = k * p.BRow;
                float x0 = A[a0 + ak], x1 = A[a1 + ak], x2 = A[a2 + ak], x3 = A[a3 + ak];
                float y0 = B[bk + b0], y1 = B[bk + b1], y2 = B[bk + b2], y3 = B[bk + b3];
                float y4 = B[bk + b4], y5 = B[bk + b5], y6 = B[bk + b6], y7 = B[bk + b7];
                d00 += x0 * y0; d01 += x0 * y1; d02 += x0 * y2; d03 += x0 * y3; d04 += x0 * y4; d05 += x0 * y5; d06 += x0 * y6; d07 += x0 * y7;
                d10 += x1 * y0; d11 += x1 * y1; d12 += x1 * y2; d13 += x1 * y3; d14 += x1 * y4; d15 += x1 * y5; d16 += x1 * y6; d17 += x1 * y7;
                d20 += x2 * y0; d21 += x2 * y1; d22 += x2 * y2; d23 += x2 * y3; d24 += x2 * y4; d25 += x2 * y5; d26 += x2 * y6; d27 += x2 * y7;
                d30 += x3 * y0; d31 += x3 * y1; d32 += x3 * y2; d33 += x3 * y3; d34 += x3 * y4; d35 += x3 * y5; d36 += x3 * y6; d37 += x3 * y7;
            }
            c00 += d00; c01 += d01; c02 += d02; c03 += d03; c04 += d04; c05 += d05; c06 += d06; c07 += d07;
            c10 += d10; c11 += d11; c12 += d12; c13 += d13; c14 += d14; c15 += d15; c16 += d16; c17 += d17;
            c20 += d20; c21 += d21; c22 += d22; c23 += d23; c24 += d24; c25 += d25; c26 += d26; c27 += d27;
            c30 += d30; c31 += d31; c32 += d32; c33 += d33; c34 += d34; c35 += d35; c36 += d36; c37 += d37;
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
