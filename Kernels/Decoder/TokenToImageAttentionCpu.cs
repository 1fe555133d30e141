using System.Buffers;
using SamEngine.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// Native <see cref="TokenToImageAttention"/>: flash attention with few queries. The image is cut
/// into chunks, each streamed in tiles of
/// <see cref="Tile"/> tokens: the tile's keys (image + pe) meet the R queries in one small GEMM,
/// the tile's probabilities weigh its image rows into R running sums in another, and each row's
/// running maximum and exp-sum rescale those sums when a tile raises the maximum. The chunks'
/// partial results are merged at the end the same way.
/// </summary>
static class TokenToImageAttentionCpu
{
    // Image tokens per tile: the tile's keys (Tile × C) and scores (Tile × R) stay in L2, while
    // each tile's fixed costs (packing its values, a pass over the R×C running sums) shrink with
    // its length: 32 → 64 → 128 took ViT-B's op from 61 to 74 to 85 GFLOP/s on Zen 3.
    const int Tile = 128;
    // Tiles per chunk, fixed, not fitted to the batch: a prompt's sums then run in the same order
    // whatever else is in its batch, so a batch gives exactly what its prompts give alone. At 64×64
    // tokens that is 4 chunks a prompt, enough to keep the cores busy on a single prompt.
    const int ChunkTiles = 8;

    /// <summary>One chunk's online-softmax state: per query row the maximum logit, the exp-sum, and the weighted image sum.</summary>
    sealed class Partial(int r, int c)
    {
        public readonly float[] Max = Filled(r, float.NegativeInfinity);
        public readonly float[] Sum = new float[r];
        public readonly float[] Acc = new float[r * c];

        static float[] Filled(int n, float v)
        {
            var a = new float[n];
            Array.Fill(a, v);
            return a;
        }
    }

    public static void Run(TokenToImageAttention.Sizes s, Tensor q, Tensor image, Tensor? pe, float scale, Tensor y)
    {
        var (qa, qo) = q.HostArray;
        var (ia, io) = image.HostArray;
        var (pa, po) = pe != null ? pe.HostArray : (null, 0);
        var (ya, yo) = y.HostArray;
        int tiles = (s.HW + Tile - 1) / Tile;
        int chunks = (tiles + ChunkTiles - 1) / ChunkTiles;
        // Each prompt's queries are the B side of every tile's score product: packed once.
        var queries = new GemmCpu.PackedB[s.B];
        for (int b = 0; b < s.B; b++) queries[b] = GemmCpu.Pack(s.C, s.R, true, qa.AsSpan(qo + b * s.R * s.C, s.R * s.C));
        var partials = new Partial[s.B * chunks];
        Parallel.For(0, partials.Length, item =>
        {
            int b = item / chunks, chunk = item % chunks;
            int t0 = chunk * ChunkTiles, t1 = Math.Min(tiles, t0 + ChunkTiles);
            var part = partials[item] = new Partial(s.R, s.C);
            int img = io + (s.Bk == 1 ? 0 : b) * s.HW * s.C;
            Stream(s, queries[b], ia, img, pa, po, scale, t0 * Tile, Math.Min(s.HW, t1 * Tile), part);
        });
        for (int b = 0; b < s.B; b++) Merge(s, partials.AsSpan(b * chunks, chunks), ya.AsSpan(yo + b * s.R * s.C, s.R * s.C));
    }

    /// <summary>Image tokens [j0, j1) of one prompt into its partial state.</summary>
    static void Stream(TokenToImageAttention.Sizes s, GemmCpu.PackedB q, float[] image, int img, float[]? pe, int po, float scale,
        int j0, int j1, Partial part)
    {
        int r = s.R, c = s.C;
        var keysStore = ArrayPool<float>.Shared.Rent(Tile * c);
        var scoresStore = ArrayPool<float>.Shared.Rent(Tile * r);
        var tileMax = new float[r];
        try
        {
            for (int j = j0; j < j1; j += Tile)
            {
                int tj = Math.Min(Tile, j1 - j);
                var values = image.AsSpan(img + j * c, tj * c);
                var keys = pe != null ? keysStore.AsSpan(0, tj * c) : values;
                if (pe != null) TensorPrimitives.Add(values, pe.AsSpan(po + j * c, tj * c), keys);

                // Scores keys-major within the tile, [tj, R]: each tile row is one image token's R logits.
                var scores = scoresStore.AsSpan(0, tj * r);
                GemmCpu.RunPacked(tj, keys, false, q, scores, scale, default, Activation.None, default);

                tileMax.AsSpan().Fill(float.NegativeInfinity);
                for (int t = 0; t < tj; t++) TensorPrimitives.Max(scores.Slice(t * r, r), tileMax, tileMax);
                Rescale(part, tileMax, c);
                for (int t = 0; t < tj; t++)
                {
                    var row = scores.Slice(t * r, r);
                    TensorPrimitives.Subtract(row, part.Max, row);
                    VectorExp.Exp(row, row);
                    TensorPrimitives.Add(part.Sum, row, part.Sum);
                }
                // Acc += Pᵀ · values: probabilities [tj, R] read transposed, accumulated in place.
                GemmCpu.Run(new GemmShape(1, r, c, tj, true, false, false, false), scores, values, part.Acc, 1f, default, Activation.None,
                    j == j0 ? default : part.Acc, mayFork: false);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(keysStore);
            ArrayPool<float>.Shared.Return(scoresStore);
        }
    }

    /// <summary>Raises each row's running maximum to the tile's, scaling its sums by exp(old − new).</summary>
    static void Rescale(Partial part, ReadOnlySpan<float> tileMax, int c)
    {
        for (int i = 0; i < tileMax.Length; i++)
        {
            if (tileMax[i] <= part.Max[i]) continue;
            if (part.Sum[i] != 0)
            {
                float factor = MathF.Exp(part.Max[i] - tileMax[i]);
                part.Sum[i] *= factor;
                TensorPrimitives.Multiply(part.Acc.AsSpan(i * c, c), factor, part.Acc.AsSpan(i * c, c));
            }
            part.Max[i] = tileMax[i];
        }
    }

    /// <summary>y = Σ_chunks acc·exp(max − M) / Σ_chunks sum·exp(max − M), M the largest maximum, per row.</summary>
    static void Merge(TokenToImageAttention.Sizes s, ReadOnlySpan<Partial> chunks, Span<float> y)
    {
        int c = s.C;
        for (int i = 0; i < s.R; i++)
        {
            float max = float.NegativeInfinity, sum = 0;
            foreach (var p in chunks) max = MathF.Max(max, p.Max[i]);
            var row = y.Slice(i * c, c);
            row.Clear();
            foreach (var p in chunks)
            {
                if (p.Sum[i] == 0) continue;
                float w = MathF.Exp(p.Max[i] - max);
                sum += w * p.Sum[i];
                TensorPrimitives.MultiplyAdd(p.Acc.AsSpan(i * c, c), w, row, row);
            }
            TensorPrimitives.Divide(row, sum, row);
        }
    }
}
