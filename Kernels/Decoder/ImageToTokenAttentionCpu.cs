using System.Buffers;
using System.Runtime.CompilerServices;
using SamEngine.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// Native <see cref="ImageToTokenAttention"/>, per tile of <see cref="Tile"/> image tokens, on the
/// GEMM micro-kernel:
///   1. the tile's queries (+ pe) packed into NR-token micro-panels, once for every prompt when
///      the prompts share them;
///   2. Sᵀ [key row, token] = scale · k · queriesᵀ (+ key bias), k packed once per prompt;
///   3. the softmax over each head's T rows, lane-wise over the tokens: Sᵀ rows are runs of tokens;
///   4. the tile's output [token, channel] = P · u, with P read where it lies in Sᵀ (k-major:
///      lda = its row length) and u packed once per prompt;
///   5. per token: + output bias + the image token, LayerNorm, into y.
/// Nothing of the tile leaves the cache before its output row is written.
/// </summary>
static unsafe class ImageToTokenAttentionCpu
{
    // Image tokens per tile: queries, scores and the pre-norm output (Tile × (2Cq + R + C)) stay in L2.
    const int Tile = 128;

    static int MR => GemmMicroKernel.MR;
    static int NR => GemmMicroKernel.NR;

    /// <summary>
    /// Padded sizes: Rp key rows (whole MR-row blocks), Cp channels (whole NR-wide panels), Tp tile
    /// tokens (whole MR-token blocks of the output) and LdS, the length of an Sᵀ row (whole NR-token
    /// panels of the scores, at least Tp, a multiple of 16).
    /// </summary>
    readonly record struct Plan(ImageToTokenAttention.Sizes S, int Rp, int Cp, int Tp, int LdS)
    {
        public int Heads => S.R / S.T;
        public long KeyFloats => (long)Rp * S.Cq;
        public long ValueFloats => (long)Cp * S.R;

        public static Plan Of(ImageToTokenAttention.Sizes s)
        {
            int rp = RoundUp(s.R, MR), cp = RoundUp(s.C, NR), tp = RoundUp(Tile, MR);
            return new Plan(s, rp, cp, tp, RoundUp(Math.Max(tp, RoundUp(Tile, NR)), 16));
        }
    }

    static int RoundUp(int n, int m) => (n + m - 1) / m * m;

    public static void Run(ImageToTokenAttention.Sizes s, Tensor k, Tensor? kBias, Tensor queries, Tensor? pe, float scale, Tensor u,
        Tensor outBias, Tensor image, Tensor gamma, Tensor beta, float eps, Tensor y)
    {
        var plan = Plan.Of(s);
        var (ka, ko) = k.HostArray;
        var (qa, qo) = queries.HostArray;
        var (ua, uo) = u.HostArray;
        var (ia, io) = image.HostArray;
        var (ya, yo) = y.HostArray;
        var (kba, kbo) = kBias != null ? kBias.HostArray : (null, 0);
        var (pa, po) = pe != null ? pe.HostArray : (null, 0);
        var (oba, obo) = outBias.HostArray;
        var (ga, go) = gamma.HostArray;
        var (ba, bo) = beta.HostArray;
        // Each prompt's key rows and values are the A and B sides of every tile's two products: packed once.
        var store = ArrayPool<float>.Shared.Rent(checked((int)(s.B * (plan.KeyFloats + plan.ValueFloats) + 16)));
        try
        {
            fixed (float* pk = ka, pq = qa, pu = ua, pi = ia, py = ya, pkb = kba, ppe = pa, pob = oba, pg = ga, pb = ba, pstore = store)
            {
                float* keys = PinnedScratch.Aligned(pstore), values = keys + s.B * plan.KeyFloats;
                for (int b = 0; b < s.B; b++)
                {
                    float* kRows = pk + ko + (long)b * s.R * s.Cq, uRows = pu + uo + (long)b * s.R * s.C;
                    for (int r = 0; r < plan.Rp; r += MR)
                        GemmCpu.PackRows(keys + b * plan.KeyFloats + (long)r * s.Cq, kRows + (long)r * s.Cq, s.Cq, Math.Max(0, Math.Min(MR, s.R - r)), s.Cq);
                    for (int x = 0; x < plan.Cp; x += NR)
                        GemmCpu.PackColumns(values + b * plan.ValueFloats + (long)x * s.R, uRows, s.C, s.R, x, Math.Min(NR, s.C - x));
                }
                var ops = new Operands
                {
                    Keys = keys, Values = values, Queries = pq + qo, Image = pi + io, Y = py + yo, KeyBias = kba != null ? pkb + kbo : null,
                    Pe = pa != null ? ppe + po : null, OutBias = pob + obo, Gamma = pg + go, Beta = pb + bo, Scale = scale, Eps = eps,
                };
                // A work item is one tile of one prompt, or of every prompt when they share the queries.
                int tiles = (s.HW + Tile - 1) / Tile, groups = s.Bq == 1 ? 1 : s.B;
                CpuCores.For(0, groups * tiles, item =>
                {
                    int group = item / tiles, j = item % tiles * Tile;
                    RunTile(plan, ops, s.Bq == 1 ? 0 : group, s.Bq == 1 ? s.B : group + 1, j, Math.Min(Tile, s.HW - j));
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(store);
        }
    }

    /// <summary>The operands, pinned for the call: packed keys and values, the rest where they lie (KeyBias and Pe may be null).</summary>
    struct Operands
    {
        public float* Keys, Values, Queries, Image, Y, KeyBias, Pe, OutBias, Gamma, Beta;
        public float Scale, Eps;
    }

    /// <summary>Tokens [j, j + tj) of prompts [b0, b1), which share the queries when there are several.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RunTile(Plan plan, Operands ops, int b0, int b1, int j, int tj)
    {
        var s = plan.S;
        int cq = s.Cq, c = s.C, tokenPanels = (tj + NR - 1) / NR;
        float* queryRows = Scratch((long)Tile * cq + (long)RoundUp(Tile, NR) * cq + (long)plan.Rp * plan.LdS + (long)plan.Tp * plan.Cp);
        float* queries = queryRows + Tile * cq, scores = queries + RoundUp(Tile, NR) * cq, sum = scores + plan.Rp * plan.LdS;
        var scaled = new GemmMicroKernel.Epilogue(ops.Scale, null, Activation.None);
        var plain = new GemmMicroKernel.Epilogue(1f, null, Activation.None);

        // 1. The tile's queries (+ pe) as NR-token micro-panels.
        float* rows = ops.Queries + ((long)(s.Bq == 1 ? 0 : b0) * s.HW + j) * cq;
        if (ops.Pe != null)
        {
            TensorPrimitives.Add(new ReadOnlySpan<float>(rows, tj * cq), new ReadOnlySpan<float>(ops.Pe + (long)j * cq, tj * cq), new Span<float>(queryRows, tj * cq));
            rows = queryRows;
        }
        for (int p = 0; p < tokenPanels; p++) GemmCpu.PackTransposedColumns(queries + (long)p * NR * cq, rows, cq, p * NR, Math.Min(NR, tj - p * NR));

        for (int b = b0; b < b1; b++)
        {
            // 2. Sᵀ = scale · k · queriesᵀ, whole micro-tiles: Rp key rows × the tile's token panels.
            float* keys = ops.Keys + b * plan.KeyFloats;
            for (int r = 0; r < plan.Rp; r += MR)
                for (int p = 0; p < tokenPanels; p++)
                    GemmMicroKernel.RunInto(cq, keys + (long)r * cq, MR, queries + (long)p * NR * cq, NR, scores + r * plan.LdS + p * NR, null, plan.LdS,
                        0, true, true, scaled);

            // 3. Each head's softmax down its T rows, 16 (or 8) tokens a vector.
            HeadSoftmax(plan, scores, RoundUp(tj, 16), ops.KeyBias != null ? ops.KeyBias + b * s.R : null);

            // 4. The tile's output = P · u, whole MR-token blocks × Cp channels.
            float* values = ops.Values + b * plan.ValueFloats;
            for (int t = 0; t < tj; t += MR)
                for (int x = 0; x < plan.Cp; x += NR)
                    GemmMicroKernel.RunInto(s.R, scores + t, plan.LdS, values + (long)x * s.R, NR, sum + t * plan.Cp + x, null, plan.Cp, x, true, true, plain);

            // 5. + output bias + image token, LayerNorm.
            float* image = ops.Image + ((long)(s.Bi == 1 ? 0 : b) * s.HW + j) * c, y = ops.Y + ((long)b * s.HW + j) * c;
            for (int t = 0; t < tj; t++)
                LayerNorm.Row(sum + t * plan.Cp, ops.OutBias, image + (long)t * c, ops.Gamma, ops.Beta, ops.Eps, y + (long)t * c, c);
        }
    }

    /// <summary>
    /// Sᵀ rows r = h·T + i, tokens along them: (+ key bias) softmax over i for each head h, token by token,
    /// lane-wise over the first n tokens (a multiple of 16).
    /// </summary>
    static void HeadSoftmax(Plan plan, float* scores, int n, float* bias)
    {
        int t = plan.S.T, ld = plan.LdS;
        float* max = stackalloc float[n], sum = stackalloc float[n];
        for (int h = 0; h < plan.Heads; h++)
        {
            float* head = scores + h * t * ld;
            if (bias != null)
                for (int i = 0; i < t; i++) TensorPrimitives.Add(new ReadOnlySpan<float>(head + i * ld, n), bias[h * t + i], new Span<float>(head + i * ld, n));
            new Span<float>(head, n).CopyTo(new Span<float>(max, n));
            for (int i = 1; i < t; i++) SoftmaxLanes.Max(head + i * ld, max, n);
            new Span<float>(sum, n).Clear();
            for (int i = 0; i < t; i++) SoftmaxLanes.ExpAdd(head + i * ld, max, sum, n);
            for (int i = 0; i < t; i++) SoftmaxLanes.Divide(head + i * ld, sum, n);
        }
    }

    [ThreadStatic] static float[]? scratchStore;

    /// <summary>This thread's pinned scratch of at least n floats, 64-byte aligned.</summary>
    static float* Scratch(long n) => PinnedScratch.Get(ref scratchStore, n);
}
