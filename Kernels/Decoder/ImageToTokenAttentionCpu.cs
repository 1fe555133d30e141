using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SamEngine.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// Native <see cref="ImageToTokenAttention"/>: per prompt and tile of image tokens, the tile's
/// queries (+ pe) meet the R key rows in one small GEMM, token-major [tile, R], so each
/// token's head softmaxes are runs of T along its row; a second GEMM weighs u with them and adds
/// the output bias and the image itself; the LayerNorm finishes each row. Nothing of the tile
/// leaves the cache before its output row is written.
/// </summary>
static class ImageToTokenAttentionCpu
{
    // Image tokens per tile: queries, scores and the pre-norm output (Tile × (2C + R)) stay in L2.
    const int Tile = 128;

    public static void Run(ImageToTokenAttention.Sizes s, Tensor k, Tensor? kBias, Tensor queries, Tensor? pe, float scale, Tensor u,
        Tensor outBias, Tensor image, Tensor gamma, Tensor beta, float eps, Tensor y)
    {
        var (ka, ko) = k.HostArray;
        var (kba, kbo) = kBias != null ? kBias.HostArray : (null, 0);
        var (qa, qo) = queries.HostArray;
        var (ia, io) = image.HostArray;
        var (pa, po) = pe != null ? pe.HostArray : (null, 0);
        var (ua, uo) = u.HostArray;
        var (oba, obo) = outBias.HostArray;
        var (ga, go) = gamma.HostArray;
        var (ba, bo) = beta.HostArray;
        var (ya, yo) = y.HostArray;
        int r = s.R, c = s.C, cq = s.Cq, tiles = (s.HW + Tile - 1) / Tile;
        // Each prompt's key rows and values are the B sides of every tile's two products: packed once.
        // With heads in multiples of eight the rows go token-major (r = t·heads + h), so that each
        // image token's head softmaxes are lane-wise over T vectors instead of runs of T.
        int heads = r / s.T;
        bool laned = heads % 8 == 0;
        var keys = new GemmCpu.PackedB[s.B];
        var values = new GemmCpu.PackedB[s.B];
        var keyBias = kba != null ? new float[s.B * r] : null;
        var kRows = laned ? new float[r * cq] : null;
        var uRows = laned ? new float[r * c] : null;
        for (int b = 0; b < s.B; b++)
        {
            var kb = ka.AsSpan(ko + b * r * cq, r * cq);
            var ub = ua.AsSpan(uo + b * r * c, r * c);
            if (kba != null && !laned) kba.AsSpan(kbo + b * r, r).CopyTo(keyBias.AsSpan(b * r, r));
            if (laned)
            {
                for (int h = 0; h < heads; h++)
                    for (int t = 0; t < s.T; t++)
                    {
                        int from = h * s.T + t, to = t * heads + h;
                        kb.Slice(from * cq, cq).CopyTo(kRows.AsSpan(to * cq, cq));
                        ub.Slice(from * c, c).CopyTo(uRows.AsSpan(to * c, c));
                        if (kba != null) keyBias![b * r + to] = kba[kbo + b * r + from];
                    }
                kb = kRows;
                ub = uRows;
            }
            keys[b] = GemmCpu.Pack(cq, r, true, kb);
            values[b] = GemmCpu.Pack(r, c, false, ub);
        }
        Parallel.For(0, s.B * tiles, item =>
        {
            int b = item / tiles, j = item % tiles * Tile, tj = Math.Min(Tile, s.HW - j);
            var queriesStore = ArrayPool<float>.Shared.Rent(Tile * cq);
            var scoresStore = ArrayPool<float>.Shared.Rent(Tile * r);
            var sumStore = ArrayPool<float>.Shared.Rent(Tile * c + c);
            try
            {
                var x = ia.AsSpan(io + ((s.Bi == 1 ? 0 : b) * s.HW + j) * c, tj * c);
                var q = qa.AsSpan(qo + ((s.Bq == 1 ? 0 : b) * s.HW + j) * cq, tj * cq);
                var tileQueries = pa != null ? queriesStore.AsSpan(0, tj * cq) : q;
                if (pa != null) TensorPrimitives.Add(q, pa.AsSpan(po + j * cq, tj * cq), tileQueries);

                var scores = scoresStore.AsSpan(0, tj * r);
                GemmCpu.RunPacked(tj, tileQueries, false, keys[b], scores, scale, keyBias != null ? keyBias.AsSpan(b * r, r) : default, Activation.None, default);
                for (int t = 0; t < tj; t++)
                    if (laned) LanedHeadSoftmax(scores.Slice(t * r, r), s.T, heads);
                    else HeadSoftmax(scores.Slice(t * r, r), s.T);

                var sum = sumStore.AsSpan(0, tj * c);
                GemmCpu.RunPacked(tj, scores, false, values[b], sum, 1f, oba.AsSpan(obo, c), Activation.None, x);
                var scratch = sumStore.AsSpan(tj * c, c);
                for (int t = 0; t < tj; t++)
                    LayerNorm.Row(sum.Slice(t * c, c), ga.AsSpan(go, c), ba.AsSpan(bo, c), eps, ya.AsSpan(yo + (b * s.HW + j + t) * c, c), scratch);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(queriesStore);
                ArrayPool<float>.Shared.Return(scoresStore);
                ArrayPool<float>.Shared.Return(sumStore);
            }
        });
    }

    /// <summary>One token's logits token-major, R = t·heads: a softmax down each lane's t vectors.</summary>
    static void LanedHeadSoftmax(Span<float> logits, int t, int heads)
    {
        ref float l = ref MemoryMarshal.GetReference(logits);
        for (int h = 0; h < heads; h += 8)
        {
            var max = Vector256.LoadUnsafe(ref l, (nuint)h);
            for (int i = 1; i < t; i++) max = Vector256.Max(max, Vector256.LoadUnsafe(ref l, (nuint)(i * heads + h)));
            var sum = Vector256<float>.Zero;
            for (int i = 0; i < t; i++)
            {
                var e = VectorExp.Exp(Vector256.LoadUnsafe(ref l, (nuint)(i * heads + h)) - max);
                sum += e;
                e.StoreUnsafe(ref l, (nuint)(i * heads + h));
            }
            for (int i = 0; i < t; i++) (Vector256.LoadUnsafe(ref l, (nuint)(i * heads + h)) / sum).StoreUnsafe(ref l, (nuint)(i * heads + h));
        }
    }

    /// <summary>One token's logits, R = heads·t: a softmax over each head's run of t.</summary>
    static void HeadSoftmax(Span<float> logits, int t)
    {
        for (int h = 0; h < logits.Length; h += t)
        {
            var head = logits.Slice(h, t);
            float max = TensorPrimitives.Max(head);
            TensorPrimitives.Subtract(head, max, head);
        }
        VectorExp.Exp(logits, logits);
        for (int h = 0; h < logits.Length; h += t)
        {
            var head = logits.Slice(h, t);
            TensorPrimitives.Divide(head, TensorPrimitives.Sum(head), head);
        }
    }
}
