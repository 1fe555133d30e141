using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// Attention on ILGPU devices. The rel-pos terms q·RelH and q·RelW (kh + kw numbers per query row)
/// are computed once by their own kernel, so neither attention kernel repeats a d-long dot per key
/// for them. Portable: one thread per query row, online softmax over all keys, barrier-free.
/// Tuned: flash-attention, one group per tile of query rows; K and V tiles staged in shared memory,
/// each row's lanes split the tile's scores and then own 8 output features in registers.
/// </summary>
static class AttentionIlgpu
{
    /// <summary>The largest d and dv the kernels take (their per-thread arrays and shared tiles are sized for it).</summary>
    public const int MaxHeadDim = 128;
    internal const int TileKeys = 32;
    internal const int LdS = TileKeys + 1;
    internal const int FeaturesPerLane = 8;
    /// <summary>Keys per block of the row kernel's sums (a multiple of its step of four).</summary>
    const int KeyBlock = 64;

    public static void Forward(Device device, Tensor q, Tensor k, Tensor v, Tensor output, RelPosBias? rel, AttentionShape s)
    {
        var acc = device.RequireAccelerator();
        var dims = new AttentionDims(s, acc.MaxNumThreadsPerGroup);
        using var terms = rel != null ? Tensor.Empty(device, s.Batch, s.Nq, s.Kh + s.Kw) : null;
        if (rel != null)
        {
            var relTerms = device.Kernels.Get("attention_rel_terms", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionDims>(RelTermsKernel));
            relTerms(checked((int)terms!.Length), q.View, rel.RelH.View, rel.RelW.View, terms.View, dims);
        }
        var termsView = terms?.View ?? q.View;
        if (device.Variant == KernelVariant.Tuned)
        {
            // Shared memory of a fixed size per compiled variant: dynamic shared memory is not safe
            // on ILGPU's OpenCL backend (its pointer lives in a program-scope variable that
            // concurrently running work-groups overwrite), and a static size also holds CUDA's 48 KiB.
            bool small = Math.Max(s.D, s.Dv) <= SmallHeadDim;
            int capacity = small ? SmallSharedFloats : LargeSharedFloats;
            if (dims.SharedFloats > capacity)
                throw new InvalidOperationException($"attention tile needs {dims.SharedFloats} shared floats, its kernel has {capacity}");
            var flash = small
                ? device.Kernels.Get("attention_flash_64", () =>
                    acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionDims>(FlashKernel64))
                : device.Kernels.Get("attention_flash_128", () =>
                    acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionDims>(FlashKernel128));
            int groups = checked(s.Batch * ((s.Nq + dims.TileRows - 1) / dims.TileRows));
            var config = new KernelConfig(new Index1D(groups), new Index1D(dims.TileRows * dims.Lanes));
            flash(config, q.View, k.View, v.View, termsView, output.View, dims);
        }
        else
        {
            var rows = device.Kernels.Get("attention_rows", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionDims>(RowsKernel));
            rows(checked(s.Batch * s.Nq), q.View, k.View, v.View, termsView, output.View, dims);
        }
    }

    /// <summary>terms[b, i, 0..kh) = q[b,i]·RelH[i / qw], terms[b, i, kh..kh+kw) = q[b,i]·RelW[i % qw] (unscaled q).</summary>
    [SamKernel("attention_rel_terms")]
    static void RelTermsKernel(Index1D index, ArrayView<float> q, ArrayView<float> relH, ArrayView<float> relW, ArrayView<float> terms, AttentionDims dims)
    {
        int row = index.X / dims.Terms, t = index.X - row * dims.Terms;
        int i = row % dims.Nq;
        long table = t < dims.Kh
            ? ((long)(i / dims.Qw) * dims.Kh + t) * dims.D
            : ((long)(i % dims.Qw) * dims.Kw + t - dims.Kh) * dims.D;
        var rel = t < dims.Kh ? relH : relW;
        long qRow = (long)row * dims.D;
        float dot = 0;
        for (int c = 0; c < dims.D; c++) dot += q[qRow + c] * rel[table + c];
        terms[index] = dot;
    }

    /// <summary>
    /// One query row per thread: a single pass over the keys, four at a time (four dot products
    /// share each load of q, and the output row is updated once per four keys), with a running
    /// max and sum. Keys past the end of a step of four score −∞ and weigh nothing. The weighted
    /// values and the sum are accumulated per block of KeyBlock keys and then added to the row's
    /// totals, so rounding error grows with the block plus the number of blocks, not with Nk.
    /// </summary>
    [SamKernel("attention_rows")]
    static void RowsKernel(Index1D index, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> terms,
        ArrayView<float> output, AttentionDims dims)
    {
        var qs = LocalMemory.Allocate<float>(MaxHeadDim);
        var acc = LocalMemory.Allocate<float>(MaxHeadDim);
        var block = LocalMemory.Allocate<float>(MaxHeadDim);
        int row = index, b = row / dims.Nq, last = dims.Nk - 1;
        long qRow = (long)row * dims.D, keys = (long)b * dims.Nk, termRow = (long)row * dims.Terms;
        for (int c = 0; c < dims.D; c++) qs[c] = q[qRow + c] * dims.Scale;
        for (int c = 0; c < dims.Dv; c++) acc[c] = 0;

        float max = float.NegativeInfinity, sum = 0;
        for (int jb = 0; jb < dims.Nk; jb += KeyBlock)
        {
            float blockSum = 0;
            for (int c = 0; c < dims.Dv; c++) block[c] = 0;
            int jEnd = XMath.Min(jb + KeyBlock, dims.Nk);
            for (int j = jb; j < jEnd; j += 4)
            {
                long k0 = (keys + j) * dims.D, k1 = (keys + XMath.Min(j + 1, last)) * dims.D;
                long k2 = (keys + XMath.Min(j + 2, last)) * dims.D, k3 = (keys + XMath.Min(j + 3, last)) * dims.D;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int c = 0; c < dims.D; c++)
                {
                    float qc = qs[c];
                    s0 += qc * k[k0 + c]; s1 += qc * k[k1 + c]; s2 += qc * k[k2 + c]; s3 += qc * k[k3 + c];
                }
                if (dims.HasRel != 0)
                {
                    s0 += RelBias(terms, termRow, j, dims); s1 += RelBias(terms, termRow, XMath.Min(j + 1, last), dims);
                    s2 += RelBias(terms, termRow, XMath.Min(j + 2, last), dims); s3 += RelBias(terms, termRow, XMath.Min(j + 3, last), dims);
                }
                if (j + 1 > last) s1 = float.NegativeInfinity;
                if (j + 2 > last) s2 = float.NegativeInfinity;
                if (j + 3 > last) s3 = float.NegativeInfinity;

                float stepMax = XMath.Max(XMath.Max(s0, s1), XMath.Max(s2, s3));
                if (stepMax > max)
                {
                    // A new max rescales what was summed so far (rare after the first few keys).
                    float alpha = j == 0 ? 0 : XMath.Exp(max - stepMax);
                    sum *= alpha;
                    blockSum *= alpha;
                    for (int c = 0; c < dims.Dv; c++)
                    {
                        acc[c] *= alpha;
                        block[c] *= alpha;
                    }
                    max = stepMax;
                }
                float p0 = XMath.Exp(s0 - max), p1 = XMath.Exp(s1 - max), p2 = XMath.Exp(s2 - max), p3 = XMath.Exp(s3 - max);
                blockSum += (p0 + p1) + (p2 + p3);
                long v0 = (keys + j) * dims.Dv, v1 = (keys + XMath.Min(j + 1, last)) * dims.Dv;
                long v2 = (keys + XMath.Min(j + 2, last)) * dims.Dv, v3 = (keys + XMath.Min(j + 3, last)) * dims.Dv;
                for (int c = 0; c < dims.Dv; c++)
                    block[c] += p0 * v[v0 + c] + p1 * v[v1 + c] + p2 * v[v2 + c] + p3 * v[v3 + c];
            }
            sum += blockSum;
            for (int c = 0; c < dims.Dv; c++) acc[c] += block[c];
        }
        long oRow = (long)row * dims.Dv;
        for (int c = 0; c < dims.Dv; c++) output[oRow + c] = acc[c] / sum;
    }

    /// <summary>terms of key j = (kk, ll): q·RelH[·, kk] + q·RelW[·, ll].</summary>
    static float RelBias(ArrayView<float> terms, long termRow, int j, AttentionDims dims)
    {
        int kk = j / dims.Kw;
        return terms[termRow + kk] + terms[termRow + dims.Kh + j - kk * dims.Kw];
    }

    /// <summary>Head dims up to this use the smaller compiled variant.</summary>
    internal const int SmallHeadDim = 64;

    /// <summary>
    /// Each variant's shared floats: the most <see cref="AttentionDims.SharedFloats"/> asks for
    /// over its head dims (at most 128 threads a group); AttentionTileTests recomputes both.
    /// 7424 floats = 29 KiB (d ≤ 64), 11520 = 45 KiB (d ≤ 128), under CUDA's 48 KiB of static shared memory.
    /// </summary>
    internal const int SmallSharedFloats = 7424, LargeSharedFloats = 11520;

    [SamKernel("attention_flash_64", Grouped = true)]
    static void FlashKernel64(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> terms, ArrayView<float> output, AttentionDims dims) =>
        Flash(SharedMemory.Allocate<float>(SmallSharedFloats), q, k, v, terms, output, dims);

    [SamKernel("attention_flash_128", Grouped = true)]
    static void FlashKernel128(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> terms, ArrayView<float> output, AttentionDims dims) =>
        Flash(SharedMemory.Allocate<float>(LargeSharedFloats), q, k, v, terms, output, dims);

    /// <summary>
    /// Flash attention for one tile of TileRows query rows of one batch item, with Lanes threads
    /// per row. Per key tile: stage K and V; each lane scores every Lanes-th key of the tile; each
    /// lane reads the row's tile max, turns its own scores into probabilities and adds them to its
    /// partial sum; then each lane accumulates its 8 output features (lane, lane + Lanes, ...).
    /// </summary>
    static void Flash(ArrayView<float> shared, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> terms, ArrayView<float> output, AttentionDims dims)
    {
        int lanes = dims.Lanes, tileRows = dims.TileRows, threads = lanes * tileRows;
        int ldQ = dims.D + 1, ldV = lanes * FeaturesPerLane;
        var qs = shared.SubView(0, tileRows * ldQ);
        var ks = shared.SubView(qs.Length, TileKeys * ldQ);
        var vs = shared.SubView(qs.Length + ks.Length, TileKeys * ldV);
        var scores = shared.SubView(qs.Length + ks.Length + vs.Length, tileRows * LdS);
        var probs = shared.SubView(qs.Length + ks.Length + vs.Length + scores.Length, tileRows * LdS);
        var sums = shared.SubView(qs.Length + ks.Length + vs.Length + 2 * scores.Length, threads);

        int tid = Group.IdxX, r = tid / lanes, lane = tid - r * lanes;
        int qTiles = (dims.Nq + tileRows - 1) / tileRows;
        int b = Grid.IdxX / qTiles, i0 = (Grid.IdxX - b * qTiles) * tileRows, i = i0 + r;
        bool validRow = i < dims.Nq;
        long keys = (long)b * dims.Nk, termRow = ((long)b * dims.Nq + i) * dims.Terms;

        for (int idx = tid; idx < tileRows * dims.D; idx += threads)
        {
            int rr = idx / dims.D, c = idx - rr * dims.D;
            qs[rr * ldQ + c] = i0 + rr < dims.Nq ? q[((long)b * dims.Nq + i0 + rr) * dims.D + c] * dims.Scale : 0;
        }

        float max = float.NegativeInfinity, sum = 0;
        float o0 = 0, o1 = 0, o2 = 0, o3 = 0, o4 = 0, o5 = 0, o6 = 0, o7 = 0;
        for (int j0 = 0; j0 < dims.Nk; j0 += TileKeys)
        {
            int valid = XMath.Min(TileKeys, dims.Nk - j0);
            for (int idx = tid; idx < TileKeys * dims.D; idx += threads)
            {
                int jj = idx / dims.D, c = idx - jj * dims.D;
                ks[jj * ldQ + c] = jj < valid ? k[(keys + j0 + jj) * dims.D + c] : 0;
            }
            for (int idx = tid; idx < TileKeys * ldV; idx += threads)
            {
                int jj = idx / ldV, c = idx - jj * ldV;
                vs[idx] = jj < valid && c < dims.Dv ? v[(keys + j0 + jj) * dims.Dv + c] : 0;
            }
            Group.Barrier();

            for (int jj = lane; jj < valid; jj += lanes)
            {
                float s = 0;
                for (int c = 0; c < dims.D; c++) s += qs[r * ldQ + c] * ks[jj * ldQ + c];
                if (dims.HasRel != 0 && validRow) s += RelBias(terms, termRow, j0 + jj, dims);
                scores[r * LdS + jj] = s;
            }
            Group.Barrier();

            float tileMax = float.NegativeInfinity;
            for (int jj = 0; jj < valid; jj++) tileMax = XMath.Max(tileMax, scores[r * LdS + jj]);
            float newMax = XMath.Max(max, tileMax);
            float alpha = j0 == 0 ? 0 : XMath.Exp(max - newMax);
            max = newMax;
            // The tile's sums start from zero and are folded into the running ones (scaled by
            // alpha): rounding error grows with the tile plus the number of tiles, not with Nk.
            float tileSum = 0;
            for (int jj = lane; jj < valid; jj += lanes)
            {
                float p = XMath.Exp(scores[r * LdS + jj] - max);
                probs[r * LdS + jj] = p;
                tileSum += p;
            }
            sum = sum * alpha + tileSum;
            Group.Barrier();

            float t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0;
            for (int jj = 0; jj < valid; jj++)
            {
                float p = probs[r * LdS + jj];
                int vRow = jj * ldV + lane;
                t0 += p * vs[vRow]; t1 += p * vs[vRow + lanes]; t2 += p * vs[vRow + 2 * lanes]; t3 += p * vs[vRow + 3 * lanes];
                t4 += p * vs[vRow + 4 * lanes]; t5 += p * vs[vRow + 5 * lanes]; t6 += p * vs[vRow + 6 * lanes]; t7 += p * vs[vRow + 7 * lanes];
            }
            o0 = o0 * alpha + t0; o1 = o1 * alpha + t1; o2 = o2 * alpha + t2; o3 = o3 * alpha + t3;
            o4 = o4 * alpha + t4; o5 = o5 * alpha + t5; o6 = o6 * alpha + t6; o7 = o7 * alpha + t7;
            Group.Barrier();
        }

        // The row's sum is spread over its lanes (each summed its own keys).
        sums[tid] = sum;
        Group.Barrier();
        float total = 0;
        for (int x = 0; x < lanes; x++) total += sums[r * lanes + x];
        if (!validRow) return;
        long oRow = ((long)b * dims.Nq + i) * dims.Dv;
        Store(output, oRow, lane, dims.Dv, o0 / total);
        Store(output, oRow, lane + lanes, dims.Dv, o1 / total);
        Store(output, oRow, lane + 2 * lanes, dims.Dv, o2 / total);
        Store(output, oRow, lane + 3 * lanes, dims.Dv, o3 / total);
        Store(output, oRow, lane + 4 * lanes, dims.Dv, o4 / total);
        Store(output, oRow, lane + 5 * lanes, dims.Dv, o5 / total);
        Store(output, oRow, lane + 6 * lanes, dims.Dv, o6 / total);
        Store(output, oRow, lane + 7 * lanes, dims.Dv, o7 / total);
    }

    static void Store(ArrayView<float> output, long row, int feature, int dv, float value)
    {
        if (feature < dv) output[row + feature] = value;
    }
}

/// <summary>
/// One attention call's dimensions as an ILGPU kernel argument (public because ILGPU's generated
/// launchers must see the type).
/// </summary>
internal readonly struct AttentionDims
{
    public readonly int Nq, Nk, D, Dv, Qw, Kh, Kw, HasRel, Lanes, TileRows;
    public readonly float Scale;

    internal AttentionDims(AttentionShape s, int maxGroupSize)
    {
        (Nq, Nk, D, Dv, Qw, Kh, Kw, HasRel, Scale) = (s.Nq, s.Nk, s.D, s.Dv, s.Qw, s.Kh, s.Kw, s.HasRel ? 1 : 0, s.Scale);
        // Lanes per query row: enough to hold dv features at 8 each (a power of two); rows per
        // group: up to 128 threads (fewer where the device allows fewer: ilgpu-cpu takes 16), at
        // most 32 rows so that d = 128 tiles fit 48 KiB of shared memory.
        Lanes = 1;
        while (Lanes * AttentionIlgpu.FeaturesPerLane < s.Dv) Lanes *= 2;
        TileRows = Math.Max(1, Math.Min(32, Math.Min(128, maxGroupSize) / Lanes));
    }

    public int Terms => Kh + Kw;

    /// <summary>Floats of shared memory the tuned kernel uses: Qs, Ks, Vs, scores, probabilities, row sums.</summary>
    public int SharedFloats => TileRows * (D + 1) + AttentionIlgpu.TileKeys * (D + 1) + AttentionIlgpu.TileKeys * Lanes * AttentionIlgpu.FeaturesPerLane + 2 * TileRows * AttentionIlgpu.LdS + TileRows * Lanes;
}
