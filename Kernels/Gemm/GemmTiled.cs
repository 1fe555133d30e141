using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// GPU GEMM: a T×T group computes a 4T×4T block of C (T = 16 on GPUs: 256 threads, 64×64).
/// Per step of 16 along K it stages a 4T×16 slab of A and a 16×4T slab of B in shared memory,
/// then every thread accumulates a 4×4 register block from them, so each global load feeds
/// 4T multiply-adds instead of one. A thread owns rows ty+T·r and columns tx+T·c: a warp reads
/// shared memory without bank conflicts and writes C in runs of T adjacent columns.
/// The sums run in blocks of KBlock (four slabs) along K, each added to the running total when
/// done: rounding error then grows with KBlock + K/KBlock rather than K.
/// </summary>
static class GemmTiled
{
    const int BK = 16, KBlock = 4 * BK, MaxT = 16;
    // Slabs are stored k-major with one pad column: A staged along K (its contiguous axis when
    // not transposed) would otherwise land every k of a warp in the same bank.
    const int Ld = 4 * MaxT + 1;

    /// <summary>
    /// 16×16 groups where the accelerator allows 256 threads; ILGPU's CPU accelerator allows 16,
    /// so it runs the same code on 4×4 groups and 16×16 tiles.
    /// </summary>
    public static KernelConfig Config(GemmShape s, Accelerator acc)
    {
        int t = MaxT;
        while (t * t > acc.MaxNumThreadsPerGroup) t /= 2;
        int tile = 4 * t;
        return new(new Index3D((s.N + tile - 1) / tile, (s.M + tile - 1) / tile, s.Batch), new Index3D(t, t, 1));
    }

    [SamKernel("gemm_tiled", Grouped = true)]
    public static void Kernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        ArrayView<float> bias, ArrayView<float> residual, GemmArgs p)
    {
        var As = SharedMemory.Allocate<float>(BK * Ld);
        var Bs = SharedMemory.Allocate<float>(BK * Ld);
        int T = Group.DimX, tile = 4 * T, threads = T * T;
        int tx = Group.IdxX, ty = Group.IdxY, t = ty * T + tx;
        int i0 = Grid.IdxY * tile, j0 = Grid.IdxX * tile, batch = Grid.IdxZ;
        var A = a.SubView(batch * p.ABatch, a.Length - batch * p.ABatch);
        var B = b.SubView(batch * p.BBatch, b.Length - batch * p.BBatch);
        // Thread t stages slab elements t, t+threads, … counted along the operand's contiguous
        // axis, so a warp's global loads coalesce whether or not it is transposed. threads is a
        // multiple of both BK and the tile edge, so each element's (row, k) is a start plus a
        // step per round: no division inside the K loop.
        int aI, aK, aIStep, aKStep, bK, bJ, bKStep, bJStep;
        if (p.ACol == 1) { aI = t / BK; aK = t % BK; aIStep = threads / BK; aKStep = 0; }
        else { aI = t % tile; aK = t / tile; aIStep = 0; aKStep = threads / tile; }
        if (p.BCol == 1) { bJ = t % tile; bK = t / tile; bJStep = 0; bKStep = threads / tile; }
        else { bK = t % BK; bJ = t / BK; bKStep = 0; bJStep = threads / BK; }
        int rounds = tile * BK / threads;

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int kc = 0; kc < p.K; kc += KBlock)
        {
            float d00 = 0, d01 = 0, d02 = 0, d03 = 0;
            float d10 = 0, d11 = 0, d12 = 0, d13 = 0;
            float d20 = 0, d21 = 0, d22 = 0, d23 = 0;
            float d30 = 0, d31 = 0, d32 = 0, d33 = 0;
            int kcEnd = XMath.Min(kc + KBlock, p.K);
            for (int k0 = kc; k0 < kcEnd; k0 += BK)
            {
                for (int r = 0; r < rounds; r++)
                {
                    int ia = aI + r * aIStep, ka = aK + r * aKStep;
                    As[ka * Ld + ia] = LoadA(A, p, i0 + ia, k0 + ka);
                    int kb = bK + r * bKStep, jb = bJ + r * bJStep;
                    Bs[kb * Ld + jb] = LoadB(B, p, k0 + kb, j0 + jb);
                }
                Group.Barrier();
                for (int k = 0; k < BK; k++)
                {
                    int ra = k * Ld + ty, rb = k * Ld + tx;
                    float x0 = As[ra], x1 = As[ra + T], x2 = As[ra + 2 * T], x3 = As[ra + 3 * T];
                    float y0 = Bs[rb], y1 = Bs[rb + T], y2 = Bs[rb + 2 * T], y3 = Bs[rb + 3 * T];
                    d00 += x0 * y0; d01 += x0 * y1; d02 += x0 * y2; d03 += x0 * y3;
                    d10 += x1 * y0; d11 += x1 * y1; d12 += x1 * y2; d13 += x1 * y3;
                    d20 += x2 * y0; d21 += x2 * y1; d22 += x2 * y2; d23 += x2 * y3;
                    d30 += x3 * y0; d31 += x3 * y1; d32 += x3 * y2; d33 += x3 * y3;
                }
                Group.Barrier();
            }
            c00 += d00; c01 += d01; c02 += d02; c03 += d03;
            c10 += d10; c11 += d11; c12 += d12; c13 += d13;
            c20 += d20; c21 += d21; c22 += d22; c23 += d23;
            c30 += d30; c31 += d31; c32 += d32; c33 += d33;
        }

        long o = (long)batch * p.M * p.N;
        int i = i0 + ty, j = j0 + tx;
        Row(c, bias, residual, p, o, i, j, T, c00, c01, c02, c03);
        Row(c, bias, residual, p, o, i + T, j, T, c10, c11, c12, c13);
        Row(c, bias, residual, p, o, i + 2 * T, j, T, c20, c21, c22, c23);
        Row(c, bias, residual, p, o, i + 3 * T, j, T, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float LoadA(ArrayView<float> A, GemmArgs p, int i, int k) => i < p.M && k < p.K ? A[i * p.ARow + k * p.ACol] : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float LoadB(ArrayView<float> B, GemmArgs p, int k, int j) => k < p.K && j < p.N ? B[k * p.BRow + j * p.BCol] : 0f;

    /// <summary>Columns j, j+T, j+2T, j+3T of row i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Row(ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual, GemmArgs p, long o, int i, int j, int T,
        float s0, float s1, float s2, float s3)
    {
        if (i >= p.M) return;
        o += (long)i * p.N + j;
        if (j < p.N) GemmArgs.Store(c, bias, residual, p, o, j, s0);
        if (j + T < p.N) GemmArgs.Store(c, bias, residual, p, o + T, j + T, s1);
        if (j + 2 * T < p.N) GemmArgs.Store(c, bias, residual, p, o + 2 * T, j + 2 * T, s2);
        if (j + 3 * T < p.N) GemmArgs.Store(c, bias, residual, p, o + 3 * T, j + 3 * T, s3);
    }
}
