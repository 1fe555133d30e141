using System.Runtime.Intrinsics;
using SamEngine.Engine;
using static SamEngine.Kernels.AttentionTiles;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SamEngine.Kernels;

/// <summary>
/// Native attention, flash-style. A block of ≤96 query rows of one batch·head walks the keys in
/// tiles; for every six-row group it computes the score tile (q·kᵀ, + rel bias), folds it into a
/// running max and sum (online softmax) and accumulates P·V into the block's output rows. Scratch
/// per thread is the block's rows and one 6-row score tile: the N×N score matrix never exists.
/// Kᵀ is packed per batch item into 16-key chunks per tile, for the Scores micro-kernel.
/// </summary>
static unsafe class AttentionCpu
{
    const int MaxBlockRows = 96;
    // One key tile when all keys fit (the windowed encoder, the decoder); otherwise ~256 keys,
    // a whole number of rel-pos key rows so the bias of a tile is whole RelW rows.
    const int SingleTileKeys = 512;
    const int KeyTile = 256;

    /// <summary>Tile sizes and packed strides of one call.</summary>
    readonly record struct Plan(AttentionShape S, int TileKeys, int Tiles, int ChunksPerTile, int LdS, int DvPad, int KhPad, int KwPad,
        int BlocksPerBatch, int BlockRows, bool RelWDiagonal = false)
    {
        public long KtTile => (long)ChunksPerTile * Chunk * S.D;
        public long KtBatch => Tiles * KtTile;
        /// <summary>
        /// Floats of the packed RelH and RelW tables, [qh][d][khPad] and [qw][d][kwPad]; RelW as
        /// one [d][LdRelW] table of its diagonals when <see cref="RelWDiagonal"/>.
        /// </summary>
        public long RelHTable => (long)S.Qh * S.D * KhPad;
        public long RelWTable => RelWDiagonal ? (long)S.D * LdRelW : (long)S.Qw * S.D * KwPad;
        /// <summary>Row length of the diagonal RelW table: one entry per key − query offset.</summary>
        public int LdRelW => RoundUp(S.Qw + S.Kw - 1);
        /// <summary>
        /// Whether the score kernel adds the rel bias from the relH and relW terms itself, with no
        /// bias tile: when key rows are whole groups of 64 keys (a global block's 64-wide grid).
        /// </summary>
        public bool BiasInScores => S.HasRel && S.Kw % (4 * Chunk) == 0 && Vector512.IsHardwareAccelerated;

        public static Plan Of(AttentionShape s)
        {
            int tileKeys = s.Nk <= SingleTileKeys ? s.Nk : s.HasRel ? Math.Max(1, KeyTile / s.Kw) * s.Kw : KeyTile;
            int chunks = (tileKeys + Chunk - 1) / Chunk;
            int groups = (s.Nq + Rows - 1) / Rows;
            int blocks = (groups * Rows + MaxBlockRows - 1) / MaxBlockRows;
            int blockGroups = (groups + blocks - 1) / blocks;
            // The score tile has one spare chunk: the rel bias is written in whole 16-wide stores
            // per key row, the last of which may run past the tile.
            return new Plan(s, tileKeys, (s.Nk + tileKeys - 1) / tileKeys, chunks, (chunks + 1) * Chunk, RoundUp(s.Dv),
                RoundUp(s.Kh), RoundUp(s.Kw), blocks, blockGroups * Rows);
        }
    }

    /// <summary>Pinned operand addresses, so that worker lambdas can share them.</summary>
    struct Operands
    {
        public float* Q, K, V, O, PackedK, PackedV, RelH, RelW;
    }

    /// <summary>Where one batch item's packed Kᵀ and its values (rows of LdV floats) are.</summary>
    struct BatchKeys
    {
        public float* Kt, V;
        public int LdV;
    }

    static int RoundUp(int n) => (n + Chunk - 1) / Chunk * Chunk;

    public static void Forward(Tensor q, Tensor k, Tensor v, Tensor output, RelPosBias? rel, AttentionShape s)
    {
        var plan = Plan.Of(s);
        // Keys in whole vectors per key row, so a query column's terms are exactly KwPad = Kw lanes of the diagonal table.
        if (rel != null && s.Kw % Chunk == 0 && IsDiagonal(rel.RelW.Span, s.Qw, s.Kw, s.D)) plan = plan with { RelWDiagonal = true };
        bool parallel = s.Flops > 4e6;
        // With many batch items per core (the encoder's windows), each work item is a whole batch
        // item: its keys are packed into the thread's own buffer and used while still in cache. With
        // fewer, the work items are (batch item, query block) and every batch item's keys are packed
        // up front: a global block's 12 heads as 12 items left one core waiting up to a head's time.
        bool perBatch = !parallel || s.Batch >= 8 * Environment.ProcessorCount;
        bool packV = s.Dv % Chunk != 0;
        long packedKeys = perBatch ? 0 : s.Batch * plan.KtBatch, packedValues = perBatch || !packV ? 0 : (long)s.Batch * s.Nk * plan.DvPad;
        using var packed = Tensor.Empty(output.Device, checked((int)(packedKeys + packedValues + plan.RelHTable + plan.RelWTable)));
        var (qa, qo) = q.HostArray; var (ka, ko) = k.HostArray; var (va, vo) = v.HostArray; var (oa, oo) = output.HostArray;
        var (pa, _) = packed.HostArray;
        var (rha, rho) = rel != null ? rel.RelH.HostArray : (qa, 0);
        var (rwa, rwo) = rel != null ? rel.RelW.HostArray : (qa, 0);
        fixed (float* qp = qa, kp = ka, vp = va, op = oa, pp = pa, rhp = rha, rwp = rwa)
        {
            var ops = new Operands
            {
                Q = qp + qo, K = kp + ko, V = vp + vo, O = op + oo, PackedK = pp, PackedV = pp + packedKeys,
                RelH = pp + packedKeys + packedValues, RelW = pp + packedKeys + packedValues + plan.RelHTable,
            };
            if (rel != null)
            {
                PackTable(rhp + rho, s.Qh, s.Kh, s.D, plan.KhPad, ops.RelH);
                if (plan.RelWDiagonal) PackDiagonals(rwp + rwo, s.Qw, s.Kw, s.D, plan.LdRelW, ops.RelW);
                else PackTable(rwp + rwo, s.Qw, s.Kw, s.D, plan.KwPad, ops.RelW);
            }
            if (perBatch)
                For(s.Batch, parallel, b =>
                {
                    float* buffer = Packing(plan.KtBatch + (packV ? (long)s.Nk * plan.DvPad : 0));
                    var keys = PackBatch(ops, plan, b, buffer, buffer + plan.KtBatch);
                    for (int block = 0; block < plan.BlocksPerBatch; block++) Block(ops, plan, b, block, keys);
                });
            else
            {
                For(s.Batch, parallel, b => PackBatch(ops, plan, b, ops.PackedK + b * plan.KtBatch, ops.PackedV + (long)b * s.Nk * plan.DvPad));
                For(s.Batch * plan.BlocksPerBatch, parallel, item =>
                {
                    int b = item / plan.BlocksPerBatch;
                    Block(ops, plan, b, item % plan.BlocksPerBatch, Packed(ops, plan, b, ops.PackedK + b * plan.KtBatch, ops.PackedV + (long)b * s.Nk * plan.DvPad));
                });
            }
        }
    }

    static void For(int count, bool parallel, Action<int> body)
    {
        if (parallel && count > 1) CpuCores.For(0, count, body);
        else for (int i = 0; i < count; i++) body(i);
    }

    /// <summary>Packs batch item b's keys into kt (and its values into vp when dv is not a multiple of 16).</summary>
    static BatchKeys PackBatch(Operands ops, Plan plan, int b, float* kt, float* vp)
    {
        var s = plan.S;
        PackKeys(ops.K + (long)b * s.Nk * s.D, kt, plan);
        if (s.Dv % Chunk != 0) PackValues(ops.V + (long)b * s.Nk * s.Dv, vp, plan);
        return Packed(ops, plan, b, kt, vp);
    }

    static BatchKeys Packed(Operands ops, Plan plan, int b, float* kt, float* vp)
    {
        var s = plan.S;
        return s.Dv % Chunk == 0
            ? new BatchKeys { Kt = kt, V = ops.V + (long)b * s.Nk * s.Dv, LdV = s.Dv }
            : new BatchKeys { Kt = kt, V = vp, LdV = plan.DvPad };
    }

    /// <summary>One batch item's k → Kᵀ chunks [tile][chunk][d][16], keys past the end zero; written in order.</summary>
    static void PackKeys(float* k, float* dst, Plan plan)
    {
        var s = plan.S;
        for (int t = 0; t < plan.Tiles; t++)
        {
            int j0 = t * plan.TileKeys, nt = Math.Min(plan.TileKeys, s.Nk - j0);
            for (int ch = 0; ch < plan.ChunksPerTile; ch++)
            {
                float* chunk = dst + t * plan.KtTile + (long)ch * Chunk * s.D;
                int keys = Math.Clamp(nt - ch * Chunk, 0, Chunk);
                float* rows = k + ((long)j0 + ch * Chunk) * s.D;
                if (keys == Chunk) TransposeChunk(rows, s.D, chunk);
                else
                    for (int c = 0; c < s.D; c++)
                    {
                        int lane = 0;
                        for (; lane < keys; lane++) chunk[c * Chunk + lane] = rows[(long)lane * s.D + c];
                        for (; lane < Chunk; lane++) chunk[c * Chunk + lane] = 0;
                    }
            }
        }
    }

    /// <summary>16 rows of d → [d][16] (this transpose is most of the packing's time).</summary>
    static void TransposeChunk(float* rows, int d, float* dst)
    {
        int c = 0;
        if (Transpose4x4.IsSupported)
            for (; c + 4 <= d; c += 4)
                for (int r = 0; r < Chunk; r += 4) Transpose4x4.Run(rows + (long)r * d + c, d, dst + c * Chunk + r, Chunk);
        for (; c < d; c++)
            for (int r = 0; r < Chunk; r++) dst[c * Chunk + r] = rows[(long)r * d + c];
    }

    /// <summary>A rel-pos table [rows, keys, d] → [rows][d][keysPad], so a query row's terms are vector FMAs.</summary>
    static void PackTable(float* table, int rows, int keys, int d, int keysPad, float* dst)
    {
        new Span<float>(dst, checked(rows * d * keysPad)).Clear();
        for (int r = 0; r < rows; r++)
            for (int kk = 0; kk < keys; kk++)
                for (int c = 0; c < d; c++)
                    dst[((long)r * d + c) * keysPad + kk] = table[((long)r * keys + kk) * d + c];
    }

    /// <summary>
    /// Whether table[qj, ll] depends on ll − qj alone: get_rel_pos gives that whenever it does not
    /// interpolate, as for SAM's encoder on its own grid. A 64² global block's RelW is then 127
    /// distinct rows, 32 KB that stay in L1, where the per-column tables were 1 MB, streamed
    /// from L3 for every block of query rows.
    /// </summary>
    static bool IsDiagonal(ReadOnlySpan<float> table, int rows, int keys, int d)
    {
        for (int r = 1; r < rows; r++)
            for (int kk = 1; kk < keys; kk++)
                if (!table.Slice((r * keys + kk) * d, d).SequenceEqual(table.Slice(((r - 1) * keys + kk - 1) * d, d))) return false;
        return true;
    }

    /// <summary>
    /// A diagonal table [rows, keys, d] → [d][ld] with dst[c, kk − r + rows − 1] = table[r, kk, c]:
    /// row r's terms are the keys-long run starting at rows − 1 − r.
    /// </summary>
    static void PackDiagonals(float* table, int rows, int keys, int d, int ld, float* dst)
    {
        new Span<float>(dst, checked(d * ld)).Clear();
        for (int r = 0; r < rows; r++)
            for (int kk = 0; kk < keys; kk++)
                for (int c = 0; c < d; c++)
                    dst[(long)c * ld + kk - r + rows - 1] = table[((long)r * keys + kk) * d + c];
    }

    /// <summary>v[b] → rows padded to a whole number of 16-wide vectors with zeros.</summary>
    static void PackValues(float* v, float* vp, Plan plan)
    {
        var s = plan.S;
        for (int j = 0; j < s.Nk; j++)
        {
            var dst = new Span<float>(vp + (long)j * plan.DvPad, plan.DvPad);
            new ReadOnlySpan<float>(v + (long)j * s.Dv, s.Dv).CopyTo(dst);
            dst[s.Dv..].Clear();
        }
    }

    // Per-thread buffers, pinned so they can be used through pointers: one for a block's rows and
    // score tile, one for a batch item's packed keys.
    [ThreadStatic] static float[]? scratch, packing;

    static float* Scratch(long floats) => PinnedScratch.Get(ref scratch, floats);

    static float* Packing(long floats) => PinnedScratch.Get(ref packing, floats);

    static void Block(Operands ops, Plan plan, int b, int block, BatchKeys keys)
    {
        var s = plan.S;
        int i0 = block * plan.BlockRows;
        int n = Math.Min(plan.BlockRows, s.Nq - i0);
        if (n <= 0) return;
        int groups = (n + Rows - 1) / Rows, rows = groups * Rows;

        float* qs = Scratch((long)rows * (s.D + plan.KhPad + plan.KwPad + plan.DvPad + 1 + Chunk) + Rows * (plan.LdS + 1));
        float* relH = qs + rows * s.D, relW = relH + rows * plan.KhPad, o = relW + rows * plan.KwPad;
        float* m = o + rows * plan.DvPad, l = m + rows, sTile = l + rows * Chunk, alpha = sTile + Rows * plan.LdS;

        // The block's rows of q·scale (rounded as the reference's q * scale is), padded with zero rows.
        float* q = ops.Q + ((long)b * s.Nq + i0) * s.D;
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(q, n * s.D), s.Scale, new Span<float>(qs, n * s.D));
        new Span<float>(qs + n * s.D, (rows - n) * s.D).Clear();
        if (s.HasRel) RelTerms(q, n, rows, ops, plan, i0, relH, relW);
        new Span<float>(m, rows).Fill(float.NegativeInfinity);
        new Span<float>(l, rows * Chunk).Clear();
        new Span<float>(o, rows * plan.DvPad).Clear();

        for (int t = 0; t < plan.Tiles; t++)
        {
            int j0 = t * plan.TileKeys, nt = Math.Min(plan.TileKeys, s.Nk - j0);
            int chunks = (nt + Chunk - 1) / Chunk;
            float* kt = keys.Kt + t * plan.KtTile;
            float* v = keys.V + (long)j0 * keys.LdV;
            for (int g = 0; g < groups; g++)
            {
                int r0 = g * Rows;
                int c = 0;
                if (plan.BiasInScores)
                    // Every 64 keys lie in one key row: the bias is that row of relW plus one relH term per query row.
                    for (; c < chunks; c += 4)
                    {
                        int j = j0 + c * Chunk;
                        Scores4(qs + r0 * s.D, s.D, kt + c * Chunk * s.D, sTile + c * Chunk, plan.LdS,
                            relW + r0 * plan.KwPad + j % s.Kw, plan.KwPad, relH + r0 * plan.KhPad + j / s.Kw, plan.KhPad);
                    }
                else
                {
                    if (s.HasRel) AttentionRows.BiasTile(relH + r0 * plan.KhPad, plan.KhPad, relW + r0 * plan.KwPad, plan.KwPad, s.Kw, j0, nt, sTile, plan.LdS);
                    if (Vector512.IsHardwareAccelerated)
                        for (; c + 4 <= chunks; c += 4)
                            Scores4(qs + r0 * s.D, s.D, kt + c * Chunk * s.D, sTile + c * Chunk, plan.LdS, s.HasRel ? sTile + c * Chunk : null, plan.LdS, null, 0);
                    for (; c < chunks; c++) Scores1(qs + r0 * s.D, s.D, kt + c * Chunk * s.D, sTile + c * Chunk, plan.LdS, s.HasRel);
                }

                AttentionRows.OnlineSoftmax(sTile, plan.LdS, nt, m + r0, l + r0 * Chunk, alpha);

                float* og = o + r0 * plan.DvPad;
                int x = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; x + 4 * Chunk <= plan.DvPad; x += 4 * Chunk) Values4(sTile, plan.LdS, nt, v + x, keys.LdV, og + x, plan.DvPad, alpha);
                for (; x < plan.DvPad; x += Chunk) Values1(sTile, plan.LdS, nt, v + x, keys.LdV, og + x, plan.DvPad, alpha);
            }
        }

        float* output = ops.O + ((long)b * s.Nq + i0) * s.Dv;
        for (int r = 0; r < n; r++)
        {
            var sum = Vector512.Create(Vector512.Sum(Vector512.Load(l + r * Chunk)));
            float* src = o + r * plan.DvPad, dst = output + r * s.Dv;
            int x = 0;
            for (; x + Chunk <= s.Dv; x += Chunk) (Vector512.Load(src + x) / sum).Store(dst + x);
            for (; x < s.Dv; x++) dst[x] = src[x] / sum[0];
        }
    }

    /// <summary>The block's q·RelH and q·RelW terms (unscaled q), rows [kh] and [kw] padded to 16; padding rows zero.</summary>
    static void RelTerms(float* q, int n, int rows, Operands ops, Plan plan, int i0, float* relH, float* relW)
    {
        var s = plan.S;
        new Span<float>(relH + n * plan.KhPad, (rows - n) * plan.KhPad).Clear();
        new Span<float>(relW + n * plan.KwPad, (rows - n) * plan.KwPad).Clear();
        // Tables one vector wide (an encoder window's 14 keys) go six query rows at a time, as
        // six independent chains: one query row's 64-term dot products were latency-bound.
        // q·RelH: the rows of one query-grid row share their table.
        if (plan.KhPad == Chunk)
            for (int r = 0; r < n;)
            {
                int qi = (i0 + r) / s.Qw, run = Math.Min(n, (qi + 1) * s.Qw - i0) - r;
                for (int k = 0; k < run; k += Rows)
                    TableRows(q + (long)(r + k) * s.D, s.D, Math.Min(Rows, run - k), s.D, ops.RelH + (long)qi * s.D * Chunk, Chunk,
                        relH + (r + k) * Chunk, Chunk);
                r += run;
            }
        else
            for (int r = 0; r < n; r++)
                AttentionRows.TableDots(q + (long)r * s.D, s.D, ops.RelH + (long)(i0 + r) / s.Qw * s.D * plan.KhPad, plan.KhPad, plan.KhPad, relH + r * plan.KhPad);
        // q·RelW: the rows of one query-grid column, Qw apart, share theirs.
        if (plan.KwPad == Chunk)
            for (int qj = 0; qj < s.Qw; qj++)
            {
                int first = ((qj - i0) % s.Qw + s.Qw) % s.Qw, count = first < n ? (n - 1 - first) / s.Qw + 1 : 0;
                float* table = RelWTable(ops, plan, qj, out int ld);
                for (int k = 0; k < count; k += Rows)
                {
                    int r = first + k * s.Qw;
                    TableRows(q + (long)r * s.D, (long)s.Qw * s.D, Math.Min(Rows, count - k), s.D, table, ld, relW + r * Chunk, s.Qw * Chunk);
                }
            }
        else
            for (int r = 0; r < n; r++)
            {
                float* table = RelWTable(ops, plan, (i0 + r) % s.Qw, out int ld);
                AttentionRows.TableDots(q + (long)r * s.D, s.D, table, ld, plan.KwPad, relW + r * plan.KwPad);
            }
    }

    /// <summary>Query column qj's packed RelW table [d][KwPad], its rows ld apart.</summary>
    static float* RelWTable(Operands ops, Plan plan, int qj, out int ld)
    {
        ld = plan.RelWDiagonal ? plan.LdRelW : plan.KwPad;
        return plan.RelWDiagonal ? ops.RelW + (plan.S.Qw - 1 - qj) : ops.RelW + (long)qj * plan.S.D * plan.KwPad;
    }
}
