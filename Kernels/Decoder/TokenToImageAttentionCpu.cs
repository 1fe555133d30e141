using System.Buffers;
using System.Runtime.CompilerServices;
using SamEngine.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// Native <see cref="TokenToImageAttention"/>: flash attention with few queries, on the GEMM
/// micro-kernel, packing only what must be packed. The image is cut into chunks, each streamed in
/// tiles of <see cref="Tile"/> tokens; per tile:
///   1. keys = image + pe, packed into MR-token micro-panels (the tile's one copy);
///   2. scores S [token, query row] = scale · keys · qᵀ, the queries packed once per prompt;
///   3. the online softmax, lane-wise over the query rows: a running maximum and exp-sum per row,
///      S turned into probabilities in place, the running sums rescaled where a maximum grows;
///   4. Acc [query row, channel] += Sᵀ · image, with S read where it lies (k-major: lda = its row
///      length) and the image tile where it lies (row-major: ldb = C).
/// The chunks' partial results are merged at the end the same way. With one image for every
/// prompt (the decoder's first block) a tile's keys are packed once for all of them.
/// </summary>
static unsafe class TokenToImageAttentionCpu
{
    // Image tokens per tile: the tile's packed keys and scores stay in L2 beside the image tile.
    const int Tile = 128;
    // Tiles per chunk, fixed, not fitted to the batch: a prompt's sums then run in the same order
    // whatever else is in its batch, so a batch gives exactly what its prompts give alone. At 64×64
    // tokens that is 4 chunks a prompt, enough to keep the cores busy on a single prompt.
    const int ChunkTiles = 8;

    static int MR => GemmMicroKernel.MR;
    static int NR => GemmMicroKernel.NR;

    /// <summary>
    /// Padded sizes: Rp query rows (whole MR-row blocks of Acc), Np score columns (whole NR-wide
    /// query panels, at least Rp so that every Acc block reads real columns of S).
    /// </summary>
    readonly record struct Plan(TokenToImageAttention.Sizes S, int Rp, int Np, int Tiles, int Chunks)
    {
        public int PartialFloats => 2 * Np + Rp * S.C;

        public static Plan Of(TokenToImageAttention.Sizes s)
        {
            int rp = (s.R + MR - 1) / MR * MR, np = (rp + NR - 1) / NR * NR;
            int tiles = (s.HW + Tile - 1) / Tile;
            return new Plan(s, rp, np, tiles, (tiles + ChunkTiles - 1) / ChunkTiles);
        }
    }

    /// <summary>One (prompt, chunk)'s online-softmax state: per query row the maximum logit and the exp-sum (Np each), and Acc [Rp, C].</summary>
    readonly struct Partial(float* at, Plan plan)
    {
        public readonly float* Max = at, Sum = at + plan.Np, Acc = at + 2 * plan.Np;
    }

    public static void Run(TokenToImageAttention.Sizes s, Tensor q, Tensor image, Tensor? pe, float scale, Tensor y)
    {
        var plan = Plan.Of(s);
        var (qa, qo) = q.HostArray;
        var (ia, io) = image.HostArray;
        var (pa, po) = pe != null ? pe.HostArray : (null, 0);
        var (ya, yo) = y.HostArray;
        long queryFloats = (long)plan.Np * s.C;
        var queries = ArrayPool<float>.Shared.Rent(checked((int)(s.B * queryFloats + 16)));
        var partials = ArrayPool<float>.Shared.Rent(checked(s.B * plan.Chunks * plan.PartialFloats));
        try
        {
            fixed (float* pq = qa, pi = ia, pp = pa, py = ya, packedQ = queries, parts = partials)
            {
                float* qBase = pq + qo, iBase = pi + io, peBase = pa != null ? pp + po : null, yBase = py + yo, qPacked = PinnedScratch.Aligned(packedQ), states = parts;
                // Each prompt's queries are the B side of every tile's score product: packed once, NR rows a panel.
                for (int b = 0; b < s.B; b++)
                    for (int p = 0; p < plan.Np / NR; p++)
                        GemmCpu.PackTransposedColumns(qPacked + b * queryFloats + (long)p * s.C * NR, qBase + (long)b * s.R * s.C, s.C, p * NR,
                            Math.Min(NR, s.R - p * NR));
                // A work item is one chunk of one prompt, or of every prompt when they share the image.
                int groups = s.Bk == 1 ? 1 : s.B;
                CpuCores.For(0, groups * plan.Chunks, item =>
                {
                    int group = item / plan.Chunks, chunk = item % plan.Chunks;
                    int b0 = s.Bk == 1 ? 0 : group, b1 = s.Bk == 1 ? s.B : group + 1;
                    float* img = iBase + (long)(s.Bk == 1 ? 0 : group) * s.HW * s.C;
                    Stream(plan, qPacked, queryFloats, b0, b1, img, peBase, scale, chunk, states);
                });
                for (int b = 0; b < s.B; b++) Merge(plan, states, b, yBase + (long)b * s.R * s.C);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(queries);
            ArrayPool<float>.Shared.Return(partials);
        }
    }

    /// <summary>One chunk's tiles of one image into the partial states of prompts [b0, b1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Stream(Plan plan, float* qPacked, long queryFloats, int b0, int b1, float* img, float* pe, float scale, int chunk, float* parts)
    {
        var s = plan.S;
        int c = s.C, j0 = chunk * ChunkTiles * Tile, j1 = Math.Min(s.HW, (chunk + 1) * ChunkTiles * Tile);
        int groupsMax = (Tile + MR - 1) / MR;
        // The tile's image + pe, its packed keys, its scores, and (C not a multiple of NR) a value panel and a tile.
        float* keyRows = Scratch((long)Tile * c + (long)groupsMax * MR * (c + plan.Np) + NR * (Tile + MR) + 16);
        float* keys = keyRows + Tile * c, scores = keys + groupsMax * MR * c, tail = scores + groupsMax * MR * plan.Np;
        var scaled = new GemmMicroKernel.Epilogue(scale, null, Activation.None);
        var plain = new GemmMicroKernel.Epilogue(1f, null, Activation.None);
        for (int j = j0; j < j1; j += Tile)
        {
            int tj = Math.Min(Tile, j1 - j), groups = (tj + MR - 1) / MR;
            float* values = img + (long)j * c;

            // 1. keys = image + pe in MR-token micro-panels, once for every prompt of the item.
            float* rows = values;
            if (pe != null)
            {
                TensorPrimitives.Add(new ReadOnlySpan<float>(values, tj * c), new ReadOnlySpan<float>(pe + (long)j * c, tj * c), new Span<float>(keyRows, tj * c));
                rows = keyRows;
            }
            for (int g = 0; g < groups; g++) GemmCpu.PackRows(keys + (long)g * MR * c, rows + (long)g * MR * c, c, Math.Min(MR, tj - g * MR), c);

            for (int b = b0; b < b1; b++)
            {
                var part = new Partial(parts + ((long)b * plan.Chunks + chunk) * plan.PartialFloats, plan);
                bool first = j == j0;

                // 2. S [token, query row] = scale · keys · qᵀ, whole micro-tiles into the padded tile.
                float* qb = qPacked + b * queryFloats;
                for (int g = 0; g < groups; g++)
                    for (int p = 0; p < plan.Np; p += NR)
                        GemmMicroKernel.RunInto(c, keys + (long)g * MR * c, MR, qb + (long)p * c, NR, scores + g * MR * plan.Np + p, null, plan.Np, 0,
                            true, true, scaled);

                // 3. The online softmax over this tile's tj tokens.
                OnlineSoftmax(plan, scores, tj, part, first);

                // 4. Acc += Sᵀ · image tile, Rp rows × C channels.
                for (int r = 0; r < plan.Rp; r += MR)
                {
                    int x = 0;
                    for (; x + NR <= c; x += NR)
                        GemmMicroKernel.RunInto(tj, scores + r, plan.Np, values + x, c, part.Acc + (long)r * c + x, null, c, x, first, true, plain);
                    if (x < c) ValuesTail(tj, scores + r, plan.Np, values + x, c, c - x, tail, part.Acc + (long)r * c + x, first, plain);
                }
            }
        }
    }

    /// <summary>
    /// Raises each query row's running maximum to this tile's, scaling its sums by exp(old − new), then turns the
    /// tile's scores into exp(score − maximum) and adds them to the rows' exp-sums: lane-wise, one token row at a time.
    /// </summary>
    static void OnlineSoftmax(Plan plan, float* scores, int tj, Partial part, bool first)
    {
        int np = plan.Np, c = plan.S.C;
        float* tileMax = stackalloc float[np];
        new Span<float>(tileMax, np).Fill(float.NegativeInfinity);
        for (int t = 0; t < tj; t++) SoftmaxLanes.Max(scores + t * np, tileMax, np);
        if (first)
        {
            new Span<float>(tileMax, np).CopyTo(new Span<float>(part.Max, np));
            new Span<float>(part.Sum, np).Clear();
        }
        else
            for (int i = 0; i < plan.S.R; i++)
            {
                if (tileMax[i] <= part.Max[i]) continue;
                if (part.Sum[i] != 0)
                {
                    float factor = MathF.Exp(part.Max[i] - tileMax[i]);
                    part.Sum[i] *= factor;
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(part.Acc + (long)i * c, c), factor, new Span<float>(part.Acc + (long)i * c, c));
                }
                part.Max[i] = tileMax[i];
            }
        for (int t = 0; t < tj; t++) SoftmaxLanes.ExpAdd(scores + t * np, part.Max, part.Sum, np);
    }

    /// <summary>The last, partial column panel of Acc += Sᵀ · image (C not a multiple of NR): its columns packed, through a scratch tile.</summary>
    static void ValuesTail(int tj, float* a, int lda, float* values, int ldv, int w, float* panel, float* acc, bool first, in GemmMicroKernel.Epilogue plain)
    {
        for (int t = 0; t < tj; t++)
        {
            var row = new Span<float>(panel + t * NR, NR);
            new ReadOnlySpan<float>(values + (long)t * ldv, w).CopyTo(row);
            row[w..].Clear();
        }
        float* tile = panel + tj * NR;
        tile = PinnedScratch.Aligned(tile);
        GemmMicroKernel.RunInto(tj, a, lda, panel, NR, tile, null, NR, 0, true, false, plain);
        GemmMicroKernel.Store(tile, acc, null, ldv, MR, w, 0, first, true, plain);
    }

    /// <summary>y = Σ_chunks acc·exp(max − M) / Σ_chunks sum·exp(max − M), M the largest maximum, per query row.</summary>
    static void Merge(Plan plan, float* parts, int b, float* y)
    {
        var s = plan.S;
        int c = s.C;
        for (int i = 0; i < s.R; i++)
        {
            float max = float.NegativeInfinity, sum = 0;
            for (int k = 0; k < plan.Chunks; k++) max = MathF.Max(max, Chunk(plan, parts, b, k).Max[i]);
            var row = new Span<float>(y + (long)i * c, c);
            row.Clear();
            for (int k = 0; k < plan.Chunks; k++)
            {
                var p = Chunk(plan, parts, b, k);
                if (p.Sum[i] == 0) continue;
                float w = MathF.Exp(p.Max[i] - max);
                sum += w * p.Sum[i];
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(p.Acc + (long)i * c, c), w, row, row);
            }
            TensorPrimitives.Divide(row, sum, row);
        }
    }

    static Partial Chunk(Plan plan, float* parts, int b, int chunk) => new(parts + ((long)b * plan.Chunks + chunk) * plan.PartialFloats, plan);

    [ThreadStatic] static float[]? scratchStore;

    /// <summary>This thread's pinned scratch of at least n floats, 64-byte aligned.</summary>
    static float* Scratch(long n) => PinnedScratch.Get(ref scratchStore, n);
}
