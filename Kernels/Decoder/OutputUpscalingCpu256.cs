using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Kernels;

/// <summary>
/// The AVX2 half of <see cref="OutputUpscalingCpu"/>: the same tile of 48 pixels and the same
/// steps, eight lanes at a time. With 16 ymm registers the micro-kernel is 4 rows × 24 pixels
/// (12 accumulators, 3 loads, 1 broadcast); an 8-row weight block is four of them, the two row
/// halves back to back on each half of the pixel panel so that the half stays in L1.
/// </summary>
static unsafe partial class OutputUpscalingCpu
{
    const int Lanes256 = 8;

    /// <summary>x[k·48 + j] = tokens[j·C + k], zero for j ≥ n: 8×8 blocks transposed in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackTokens256(float* tokens, int n, int c, float* x)
    {
        int whole = c / Lanes256 * Lanes256;
        for (int j0 = 0; j0 < Tile; j0 += Lanes256)
        {
            int valid = Math.Clamp(n - j0, 0, Lanes256);
            float* t = tokens + (long)j0 * c;
            Vector256<float> Row(int i, int k0) => i < valid ? Vector256.Load(t + (long)i * c + k0) : Vector256<float>.Zero;
            for (int k0 = 0; k0 < whole; k0 += Lanes256)
                Transpose8x8.Run(Row(0, k0), Row(1, k0), Row(2, k0), Row(3, k0), Row(4, k0), Row(5, k0), Row(6, k0), Row(7, k0),
                    x + k0 * Tile + j0, Tile);
            for (int k = whole; k < c; k++)
                for (int i = 0; i < Lanes256; i++) x[k * Tile + j0 + i] = i < valid ? t[(long)i * c + k] : 0f;
        }
    }

    /// <summary>
    /// One tap's C1 rows of 48 child pixels: + bias, LayerNorm over the rows (LayerNorm2d's
    /// statistics: two passes, the mean's own error corrected), affine, GELU, in place. Eight pixels at a time on
    /// both widths: a small part of the tile's work, and one copy of the statistics to trust.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void NormGelu(Problem p, float* rows)
    {
        int c = p.S.C1;
        var count = Vector256.Create((float)c);
        for (int v = 0; v < Tile; v += Lanes256)
        {
            float* col = rows + v;
            var sum = Vector256<float>.Zero;
            for (int k0 = 0; k0 < c; k0 += SumBlock)
            {
                var block = Vector256<float>.Zero;
                for (int k = k0; k < Math.Min(k0 + SumBlock, c); k++)
                {
                    var xk = Vector256.Load(col + k * Tile) + Vector256.Create(p.B1[k]);
                    xk.Store(col + k * Tile);
                    block += xk;
                }
                sum += block;
            }
            var mean = sum / count;
            Vector256<float> s1 = Vector256<float>.Zero, s2 = Vector256<float>.Zero;
            for (int k0 = 0; k0 < c; k0 += SumBlock)
            {
                Vector256<float> block1 = Vector256<float>.Zero, block2 = Vector256<float>.Zero;
                for (int k = k0; k < Math.Min(k0 + SumBlock, c); k++)
                {
                    var d = Vector256.Load(col + k * Tile) - mean;
                    block1 += d;
                    block2 = Vector256.FusedMultiplyAdd(d, d, block2);
                }
                s1 += block1;
                s2 += block2;
            }
            var correction = s1 / count;
            var variance = Vector256.Max(s2 / count - correction * correction, Vector256<float>.Zero);
            var rstd = Vector256<float>.One / Vector256.Sqrt(variance + Vector256.Create(p.Eps));
            for (int k = 0; k < c; k++)
            {
                var normed = (Vector256.Load(col + k * Tile) - mean - correction) * rstd * Vector256.Create(p.Gamma[k]) + Vector256.Create(p.Beta[k]);
                GeluMath.Gelu(normed).Store(col + k * Tile);
            }
        }
    }

    /// <summary>One finished row of the second convolution (48 pixels of channel c2) into every mask's logits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void FinishRow256(Problem p, int b, float* row, int c2, float* logits)
    {
        var bias = Vector256.Create(p.B2[c2]);
        for (int v = 0; v < Tile; v += Lanes256)
        {
            var g = GeluMath.Gelu(Vector256.Load(row + v) + bias);
            for (int m = 0; m < p.S.M; m++)
            {
                var h = Vector256.Create(p.Hyper[((long)b * p.S.M + m) * p.S.C2 + c2]);
                float* l = logits + m * Taps * Taps * Tile + v;
                Vector256.FusedMultiplyAdd(h, g, Vector256.Load(l)).Store(l);
            }
        }
    }

    /// <summary>c[8 × 48] = Σₖ a[k·8 + i] · b[k·48 + j], as four 4 × 24 blocks.</summary>
    static void MicroKernel256(int k, float* a, float* b, float* c)
    {
        for (int j = 0; j < Tile; j += 24)
            for (int i = 0; i < Rows; i += 4) Block4x24(k, a + i, b + j, c + i * Tile + j);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block4x24(int k, float* a, float* b, float* c)
    {
        Vector256<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        for (; k > 0; k--, a += Rows, b += Tile)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8); var b2 = Vector256.Load(b + 16);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01); c02 = Vector256.FusedMultiplyAdd(x, b2, c02);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11); c12 = Vector256.FusedMultiplyAdd(x, b2, c12);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21); c22 = Vector256.FusedMultiplyAdd(x, b2, c22);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31); c32 = Vector256.FusedMultiplyAdd(x, b2, c32);
        }
        c00.Store(c); c01.Store(c + 8); c02.Store(c + 16);
        c10.Store(c + Tile); c11.Store(c + Tile + 8); c12.Store(c + Tile + 16);
        c20.Store(c + 2 * Tile); c21.Store(c + 2 * Tile + 8); c22.Store(c + 2 * Tile + 16);
        c30.Store(c + 3 * Tile); c31.Store(c + 3 * Tile + 8); c32.Store(c + 3 * Tile + 16);
    }
}
