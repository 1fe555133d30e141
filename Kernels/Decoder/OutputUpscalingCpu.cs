using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// Native <see cref="OutputUpscaling"/> (AVX-512 or AVX2), fused per tile of 48 pixels of one prompt
/// so that nothing between a token and its logits leaves L1/L2. Pixels run along the vector
/// lanes throughout, which makes the LayerNorm over channels and the mask dot products plain
/// vector adds (no horizontal sums):
///   1. the tile's tokens, transposed: X [C × 48];
///   2. the first transposed convolution as one product, rows (tap, c1) of W1ᵀ by X: [4·C1 × 48];
///   3. per tap, its C1 rows + bias, LayerNorm over them, GELU, in place;
///   4. per first tap, the second convolution, rows (tap2, c2) of W2ᵀ by that tap's [C1 × 48];
///      each finished row gets its bias and GELU and goes straight into every mask's logits,
///      logit[m] += hyper[m, c2] · value, so the 16·C2 upscaled channels of a pixel are never stored;
///   5. the M × 16 logits of each pixel are written to their places in the masks.
/// Both products run one register-blocked micro-kernel, 8 rows × 48 pixels in 24 zmm registers:
/// per step 8 broadcasts of W and 3 loads of the pixel panel feed 24 fused multiply-adds.
/// </summary>
static unsafe partial class OutputUpscalingCpu
{
    // AVX-512 here, else the AVX2 twin (OutputUpscalingCpu256.cs); without FMA the composed ops.
    static readonly bool Wide = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
    public static bool Supported => Wide || (Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported);

    const int Rows = 8;                 // micro-kernel rows: (tap, channel) pairs of a weight
    const int Tile = 48;                // pixels per task, three vectors of lanes
    const int Lanes = 16;
    const int LineFloats = 16;          // floats per 64-byte cache line, for the prefetches
    const int Taps = 4;                 // 2×2 kernel, stride 2
    const int SumBlock = 32;            // as LayerNorm2d: channel sums in blocks, error ~ C/32 + 32

    [ThreadStatic] static float[]? scratchStore;

    /// <summary>The operands as pointers, with the packed weights.</summary>
    readonly struct Problem
    {
        public readonly OutputUpscalingShape S;
        public readonly float* Keys, W1, B1, Gamma, Beta, W2, B2, Hyper, Masks;
        public readonly float Eps;
        public readonly int Rows1, Rows2;       // 4·C1 and 4·C2, rounded up to whole micro-kernel blocks

        public Problem(OutputUpscalingShape s, float* keys, float* w1, float* b1, float* gamma, float* beta, float eps,
            float* w2, float* b2, float* hyper, float* masks)
        {
            S = s; Keys = keys; W1 = w1; B1 = b1; Gamma = gamma; Beta = beta; Eps = eps; W2 = w2; B2 = b2; Hyper = hyper; Masks = masks;
            Rows1 = RoundUp(Taps * s.C1);
            Rows2 = RoundUp(Taps * s.C2);
        }
    }

    static int RoundUp(int rows) => (rows + Rows - 1) / Rows * Rows;

    public static void Run(OutputUpscalingShape s, Tensor keys, Tensor conv1Weight, Tensor conv1Bias, Tensor normWeight, Tensor normBias,
        float normEps, Tensor conv2Weight, Tensor conv2Bias, Tensor hyper, Tensor masks)
    {
        var w1 = PackRows(conv1Weight.Span, s.C, s.C1);
        var w2 = PackRows(conv2Weight.Span, s.C1, s.C2);
        fixed (float* pk = keys.Span, pw1 = w1, pb1 = conv1Bias.Span, pg = normWeight.Span, pbeta = normBias.Span,
            pw2 = w2, pb2 = conv2Bias.Span, ph = hyper.Span, pm = masks.Span)
        {
            var p = new Problem(s, pk, pw1, pb1, pg, pbeta, normEps, pw2, pb2, ph, pm);
            int tilesPerImage = (s.H * s.W + Tile - 1) / Tile, tasks = s.B * tilesPerImage;
            if (tasks > 1 && Environment.ProcessorCount > 1) CpuCores.For(0, tasks, t => RunTile(p, t / tilesPerImage, t % tilesPerImage * Tile));
            else for (int t = 0; t < tasks; t++) RunTile(p, t / tilesPerImage, t % tilesPerImage * Tile);
        }
    }

    /// <summary>
    /// A ConvTranspose2d weight [Cin, Cout, 2, 2] as the transposed matrix of rows (tap, cout),
    /// cut into blocks of 8 rows stored k-major (block, k, row): the micro-kernel's broadcasts
    /// walk it in order. Rows past 4·Cout are zero.
    /// </summary>
    static float[] PackRows(ReadOnlySpan<float> w, int cin, int cout)
    {
        int rows = RoundUp(Taps * cout);
        var packed = new float[rows * cin];
        for (int r = 0; r < Taps * cout; r++)
        {
            int start = r / Rows * cin * Rows + r % Rows, column = r % cout * Taps + r / cout;
            for (int k = 0; k < cin; k++) packed[start + k * Rows] = w[k * cout * Taps + column];
        }
        return packed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RunTile(Problem p, int b, int p0)
    {
        var s = p.S;
        int n = Math.Min(Tile, s.H * s.W - p0);
        int xSize = s.C * Tile, ySize = p.Rows1 * Tile, accSize = Rows * Tile, logitsSize = s.M * Taps * Taps * Tile;
        float* x = Scratch(xSize + ySize + accSize + logitsSize);
        float* y = x + xSize, acc = y + ySize, logits = acc + accSize;

        // 1. X [C × 48]: the tile's tokens transposed, missing pixels of a partial tile zero.
        float* tokens = p.Keys + ((long)b * s.H * s.W + p0) * s.C;
        if (Wide) PackTokens(tokens, n, s.C, x);
        else PackTokens256(tokens, n, s.C, x);

        // 2. The first convolution: Y [(tap, c1) × 48] = W1ᵀ · X.
        // Meanwhile the next tile's tokens (contiguous, most likely this thread's next task) are
        // asked for: read cold by the transpose they stall it on memory.
        float* next = p.Keys + ((long)b * s.H * s.W + p0 + Tile) * s.C;
        int lines = Math.Min(Tile, s.H * s.W - p0 - Tile) * s.C / LineFloats, linesPerBlock = (lines * Rows + p.Rows1 - 1) / p.Rows1;
        for (int r = 0, line = 0; r < p.Rows1; r += Rows)
        {
            for (int end = Math.Min(line + linesPerBlock, lines); line < end; line++) Sse.Prefetch0(next + line * LineFloats);
            if (Wide) MicroKernel(s.C, p.W1 + (long)r * s.C, x, y + r * Tile);
            else MicroKernel256(s.C, p.W1 + (long)r * s.C, x, y + r * Tile);
        }

        // 3. LayerNorm2d over each child pixel's C1 channels, then GELU.
        for (int tap = 0; tap < Taps; tap++) NormGelu(p, y + tap * s.C1 * Tile);

        // 4. The second convolution per first tap, each row finished into the logits.
        new Span<float>(logits, logitsSize).Clear();
        for (int tap1 = 0; tap1 < Taps; tap1++)
            for (int r0 = 0; r0 < p.Rows2; r0 += Rows)
            {
                if (Wide) MicroKernel(s.C1, p.W2 + (long)r0 * s.C1, y + tap1 * s.C1 * Tile, acc);
                else MicroKernel256(s.C1, p.W2 + (long)r0 * s.C1, y + tap1 * s.C1 * Tile, acc);
                for (int i = 0; i < Rows && r0 + i < Taps * s.C2; i++)
                {
                    int tap2 = (r0 + i) / s.C2, c2 = (r0 + i) % s.C2;
                    float* l = logits + (tap2 * Taps + tap1) * Tile;
                    if (Wide) FinishRow(p, b, acc + i * Tile, c2, l);
                    else FinishRow256(p, b, acc + i * Tile, c2, l);
                }
            }

        // 5. Pixel (y, x), first tap (a, b), second tap (c, d) → logit row 4y + 2a + c, column 4x + 2b + d.
        int wo = 4 * s.W;
        for (int j = 0; j < n; j++)
        {
            int py = (p0 + j) / s.W, px = (p0 + j) % s.W;
            for (int m = 0; m < s.M; m++)
            {
                float* plane = p.Masks + ((long)b * s.M + m) * 16 * s.H * s.W + (long)4 * py * wo + 4 * px;
                for (int tap1 = 0; tap1 < Taps; tap1++)
                    for (int tap2 = 0; tap2 < Taps; tap2++)
                        plane[(2 * (tap1 >> 1) + (tap2 >> 1)) * wo + 2 * (tap1 & 1) + (tap2 & 1)] = logits[((m * Taps + tap2) * Taps + tap1) * Tile + j];
            }
        }
    }

    /// <summary>One finished row of the second convolution (48 pixels of channel c2): + bias, GELU, into every mask's logits at l (masks Taps² · 48 apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void FinishRow(Problem p, int b, float* row, int c2, float* logits)
    {
        var bias = Vector512.Create(p.B2[c2]);
        var g0 = GeluMath.Gelu(Vector512.Load(row) + bias);
        var g1 = GeluMath.Gelu(Vector512.Load(row + Lanes) + bias);
        var g2 = GeluMath.Gelu(Vector512.Load(row + 2 * Lanes) + bias);
        for (int m = 0; m < p.S.M; m++)
        {
            var h = Vector512.Create(p.Hyper[((long)b * p.S.M + m) * p.S.C2 + c2]);
            float* l = logits + m * Taps * Taps * Tile;
            Vector512.FusedMultiplyAdd(h, g0, Vector512.Load(l)).Store(l);
            Vector512.FusedMultiplyAdd(h, g1, Vector512.Load(l + Lanes)).Store(l + Lanes);
            Vector512.FusedMultiplyAdd(h, g2, Vector512.Load(l + 2 * Lanes)).Store(l + 2 * Lanes);
        }
    }

    /// <summary>
    /// x[k·48 + j] = tokens[j·C + k] for the tile's n tokens, zero for j ≥ n: 16×16 blocks are
    /// transposed in registers, each in four rounds that swap the off-diagonal blocks of 8, 4, 2
    /// and 1 between row pairs (two-source permutes), so loads and stores stay whole vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackTokens(float* tokens, int n, int c, float* x)
    {
        var rows = stackalloc Vector512<float>[Lanes];
        int whole = c / Lanes * Lanes;
        for (int j0 = 0; j0 < Tile; j0 += Lanes)
        {
            int valid = Math.Clamp(n - j0, 0, Lanes);
            for (int k0 = 0; k0 < whole; k0 += Lanes)
            {
                for (int i = 0; i < Lanes; i++)
                    rows[i] = i < valid ? Vector512.Load(tokens + (long)(j0 + i) * c + k0) : Vector512<float>.Zero;
                Transpose(rows, 8, SwapLow8, SwapHigh8);
                Transpose(rows, 4, SwapLow4, SwapHigh4);
                Transpose(rows, 2, SwapLow2, SwapHigh2);
                Transpose(rows, 1, SwapLow1, SwapHigh1);
                for (int i = 0; i < Lanes; i++) rows[i].Store(x + (k0 + i) * Tile + j0);
            }
            for (int k = whole; k < c; k++)
                for (int i = 0; i < Lanes; i++) x[k * Tile + j0 + i] = i < valid ? tokens[(long)(j0 + i) * c + k] : 0f;
        }
    }

    // Round s of the 16×16 transpose pairs rows i and i + s (i & s == 0): the upper row keeps its
    // lanes l & s == 0 and takes the lower row's l − s in the others; the lower row takes the upper
    // row's l + s in lanes l & s == 0 and keeps the rest. Indices ≥ 16 pick from the second source.
    static readonly Vector512<int> SwapLow8 = SwapIndices(8, true), SwapHigh8 = SwapIndices(8, false);
    static readonly Vector512<int> SwapLow4 = SwapIndices(4, true), SwapHigh4 = SwapIndices(4, false);
    static readonly Vector512<int> SwapLow2 = SwapIndices(2, true), SwapHigh2 = SwapIndices(2, false);
    static readonly Vector512<int> SwapLow1 = SwapIndices(1, true), SwapHigh1 = SwapIndices(1, false);

    static Vector512<int> SwapIndices(int s, bool upper)
    {
        var idx = new int[Lanes];
        for (int l = 0; l < Lanes; l++)
            idx[l] = upper ? ((l & s) == 0 ? l : Lanes + l - s) : ((l & s) == 0 ? l + s : Lanes + l);
        return Vector512.Create(idx);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose(Vector512<float>* rows, int s, Vector512<int> upper, Vector512<int> lower)
    {
        for (int i = 0; i < Lanes; i++)
        {
            if ((i & s) != 0) continue;
            var a = rows[i];
            var b = rows[i + s];
            rows[i] = Avx512F.PermuteVar16x32x2(a, upper, b);
            rows[i + s] = Avx512F.PermuteVar16x32x2(a, lower, b);
        }
    }

    /// <summary>c[8 × 48] = Σₖ a[k·8 + i] · b[k·48 + j] over k steps: a is 8 packed weight rows, b a pixel panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MicroKernel(int k, float* a, float* b, float* c)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector512<float> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (; k > 0; k--, a += Rows, b += Tile)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16); var b2 = Vector512.Load(b + 32);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01); c02 = Vector512.FusedMultiplyAdd(x, b2, c02);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11); c12 = Vector512.FusedMultiplyAdd(x, b2, c12);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21); c22 = Vector512.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31); c32 = Vector512.FusedMultiplyAdd(x, b2, c32);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41); c42 = Vector512.FusedMultiplyAdd(x, b2, c42);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51); c52 = Vector512.FusedMultiplyAdd(x, b2, c52);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61); c62 = Vector512.FusedMultiplyAdd(x, b2, c62);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71); c72 = Vector512.FusedMultiplyAdd(x, b2, c72);
        }
        c00.Store(c); c01.Store(c + 16); c02.Store(c + 32);
        c10.Store(c + 48); c11.Store(c + 64); c12.Store(c + 80);
        c20.Store(c + 96); c21.Store(c + 112); c22.Store(c + 128);
        c30.Store(c + 144); c31.Store(c + 160); c32.Store(c + 176);
        c40.Store(c + 192); c41.Store(c + 208); c42.Store(c + 224);
        c50.Store(c + 240); c51.Store(c + 256); c52.Store(c + 272);
        c60.Store(c + 288); c61.Store(c + 304); c62.Store(c + 320);
        c70.Store(c + 336); c71.Store(c + 352); c72.Store(c + 368);
    }

    /// <summary>This thread's pinned scratch of at least n floats, 64-byte aligned.</summary>
    static float* Scratch(int n) => PinnedScratch.Get(ref scratchStore, n);
}
