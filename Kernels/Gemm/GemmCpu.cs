using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// Native GEMM in the BLIS shape. B is packed once into NR-column micro-panels and A, per
/// task, into MR-row micro-panels, both K-major in KC-deep slabs, so the micro-kernel
/// (<see cref="GemmMicroKernel"/>) streams two contiguous arrays while an MR×NR block of C
/// sits in registers. Transposes are absorbed by the packing. Tasks are blocks of C rows
/// (and, when rows are few, of columns) spread over all cores.
/// </summary>
static unsafe class GemmCpu
{
    static int MR => GemmMicroKernel.MR;
    static int NR => GemmMicroKernel.NR;
    // K is cut into equal slabs of at most KCMax. Deep slabs mean few passes over C, which
    // matter more than L1 residency: a pass over a C larger than the caches goes to DRAM (KC
    // 256 → 768 took the qkv shape from ~70 to ~90 GFLOP/s per core, and 1024 put 1024³ in
    // one slab: 77 → 86), while the micro-panels (up to 128 KB of B, 48 KB of A) still stream
    // from L2 at full speed. Measured on Zen 4 (1 MB L2 per core).
    const int KCMax = 1024;
    // Rows of A one task packs: MC·KC floats (≤ 600 KB) stay in L2.
    const int MCMax = 144;
    // Bound on packed B (floats): a wider B is packed and used a column strip at a time.
    const int PackedBMax = 4 << 20;
    // Below this many flops a GEMM runs on the calling thread: the fork costs more than it saves.
    const double ParallelFlops = 4e6;

    [ThreadStatic] static float[]? aPackStore;
    [ThreadStatic] static float[]? bPackStore;

    /// <summary>One GEMM's operands as pointers with the strides that fold in the transposes.</summary>
    readonly struct Problem
    {
        public readonly float* A, B, C, Bias, R;
        public readonly int M, N, K, KC, ARow, ACol, BRow, BCol;
        public readonly long ABatch, BBatch;
        public readonly float Alpha;
        public readonly Activation Act;

        public Problem(GemmShape s, float* a, float* b, float* c, float* bias, float* r, float alpha, Activation act)
        {
            A = a; B = b; C = c; Bias = bias; R = r;
            (M, N, K, Alpha, Act) = (s.M, s.N, s.K, alpha, act);
            KC = SlabDepth(s.K);
            (ARow, ACol) = s.TransA ? (1, s.M) : (s.K, 1);
            (BRow, BCol) = s.TransB ? (1, s.K) : (s.N, 1);
            ABatch = s.BatchA ? (long)s.M * s.K : 0;
            BBatch = s.BatchB ? (long)s.K * s.N : 0;
        }
    }

    static int SlabDepth(int k)
    {
        int slabs = Math.Max(1, (k + KCMax - 1) / KCMax);
        return Math.Max(4, ((k + slabs - 1) / slabs + 3) / 4 * 4);
    }

    /// <summary>
    /// C = act(alpha·A·B + bias) + residual. mayFork false keeps it on the calling thread: fused
    /// ops that run many small products from their own parallel loop.
    /// </summary>
    public static void Run(GemmShape s, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        float alpha, ReadOnlySpan<float> bias, Activation act, ReadOnlySpan<float> residual, bool mayFork = true)
    {
        // A residual aliasing C is read just before its element is written, which only holds when
        // both start together and C is written once (a single KC slab); otherwise keep a copy.
        // The copy goes into a pooled array: a fresh one per call (12.6 MB for ViT-B's fc2, 12 calls a
        // pass) was large-object garbage that held the encoder's resident memory ~0.5 GB above its peak.
        float[]? copy = null;
        if (!residual.IsEmpty && residual.Overlaps(c, out int shift) && (shift != 0 || s.K > SlabDepth(s.K)))
        {
            copy = ArrayPool<float>.Shared.Rent(residual.Length);
            residual.CopyTo(copy);
            residual = copy.AsSpan(0, residual.Length);
        }
        try
        {
            Compute(s, a, b, c, alpha, bias, act, residual, mayFork);
        }
        finally
        {
            if (copy != null) ArrayPool<float>.Shared.Return(copy);
        }
    }

    static void Compute(GemmShape s, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c,
        float alpha, ReadOnlySpan<float> bias, Activation act, ReadOnlySpan<float> residual, bool mayFork)
    {
        fixed (float* pa = a, pb = b, pc = c, pbias = bias, pr = residual)
        {
            var p = new Problem(s, pa, pb, pc, bias.IsEmpty ? null : pbias, residual.IsEmpty ? null : pr, alpha, act);
            double itemFlops = 2.0 * s.M * s.N * s.K;
            bool parallel = mayFork && Environment.ProcessorCount > 1 && itemFlops * s.Batch >= ParallelFlops;
            // Many or small batch items (attention heads × windows): one item per core at a time.
            if (parallel && s.Batch > 1 && (s.Batch >= 2 * Environment.ProcessorCount || itemFlops < ParallelFlops))
                CpuCores.For(0, s.Batch, bi => Item(p, bi, parallel: false));
            else
                for (int bi = 0; bi < s.Batch; bi++) Item(p, bi, parallel);
        }
    }

    /// <summary>
    /// A B operand packed once for many products with it: the few-row side (query or key rows)
    /// that fused ops multiply tile after tile of image tokens by. Pinned, so its panels can be
    /// read through pointers from any thread.
    /// </summary>
    public sealed class PackedB
    {
        internal PackedB(int k, int n, bool transB, float[] store) => (K, N, TransB, Store) = (k, n, transB, store);

        public int K { get; }
        public int N { get; }
        public bool TransB { get; }
        internal float[] Store { get; }
    }

    /// <summary>B [K, N] ([N, K] when transB) as <see cref="PackedB"/>.</summary>
    public static PackedB Pack(int k, int n, bool transB, ReadOnlySpan<float> b)
    {
        var s = new GemmShape(1, 1, n, k, false, transB, false, false);
        int panels = (n + NR - 1) / NR;
        var store = GC.AllocateUninitializedArray<float>(Math.Max(1, k) * panels * NR + 16, pinned: true);
        fixed (float* pb = b)
        {
            var p = new Problem(s, null, pb, null, null, null, 1f, Activation.None);
            PackB(p, pb, 0, n, panels, PinnedScratch.Aligned(store), parallel: false);
        }
        return new PackedB(k, n, transB, store);
    }

    /// <summary>
    /// C [M, N] = act(alpha·A·B + bias) + residual against a packed B; on the calling thread unless
    /// mayFork and the product is large. A is [M, K] ([K, M] when transA); residual may alias C
    /// only if it starts with it.
    /// </summary>
    public static void RunPacked(int m, ReadOnlySpan<float> a, bool transA, PackedB b, Span<float> c,
        float alpha, ReadOnlySpan<float> bias, Activation act, ReadOnlySpan<float> residual, bool mayFork = false)
    {
        var s = new GemmShape(1, m, b.N, b.K, transA, b.TransB, false, false);
        if (a.Length < (long)m * b.K || c.Length < (long)m * b.N || (!residual.IsEmpty && residual.Length < c.Length))
            throw new ArgumentException($"gemm: packed product [{m}, {b.K}]·[{b.K}, {b.N}] on spans of {a.Length}, {c.Length}");
        if (b.K > SlabDepth(b.K) && !residual.IsEmpty && residual.Overlaps(c))
            throw new ArgumentException("gemm: a residual aliasing C needs a single K slab");
        fixed (float* pa = a, pc = c, pbias = bias, pr = residual)
        {
            var p = new Problem(s, pa, null, pc, bias.IsEmpty ? null : pbias, residual.IsEmpty ? null : pr, alpha, act);
            int panels = (b.N + NR - 1) / NR;
            bool parallel = mayFork && Environment.ProcessorCount > 1 && 2.0 * m * b.N * b.K >= ParallelFlops;
            Sweep(p, pa, pc, p.R, PinnedScratch.Aligned(b.Store), 0, b.N, panels, parallel);
        }
    }

    static void Item(Problem p, int bi, bool parallel)
    {
        long cOffset = (long)bi * p.M * p.N;
        float* A = p.A + bi * p.ABatch, B = p.B + bi * p.BBatch, C = p.C + cOffset;
        float* R = p.R == null ? null : p.R + cOffset;
        int nr = NR;
        int strip = Math.Max(nr, PackedBMax / Math.Max(1, p.K) / nr * nr);
        for (int j0 = 0; j0 < p.N; j0 += strip)
        {
            int width = Math.Min(strip, p.N - j0), panels = (width + nr - 1) / nr;
            float* packedB = PinnedScratch.Get(ref bPackStore, (long)Math.Max(1, p.K) * panels * nr);
            PackB(p, B, j0, width, panels, packedB, parallel);
            Sweep(p, A, C, R, packedB, j0, width, panels, parallel);
        }
    }

    /// <summary>All of C's rows against one packed strip of B, as tasks spread over the cores.</summary>
    static void Sweep(Problem p, float* A, float* C, float* R, float* packedB, int j0, int width, int panels, bool parallel)
    {
        var (rowTasks, colTasks, panelsPerTask) = Split(p.M, panels, parallel);
        int tasks = rowTasks * colTasks, rowPanels = (p.M + MR - 1) / MR;
        void Task(int t)
        {
            // Row tasks take equal shares of the MR-row micro-panels (±1), so that the cores finish together.
            int rt = t / colTasks, r0 = (int)((long)rowPanels * rt / rowTasks) * MR, r1 = Math.Min(p.M, (int)((long)rowPanels * (rt + 1) / rowTasks) * MR);
            int q0 = t % colTasks * panelsPerTask;
            Block(p, A, C, R, packedB, r0, r1 - r0, j0, width, q0, Math.Min(panelsPerTask, panels - q0), panels);
        }
        if (parallel && tasks > 1) CpuCores.For(0, tasks, Task);
        else for (int t = 0; t < tasks; t++) Task(t);
    }

    /// <summary>
    /// Tasks as blocks of rows, in a multiple of the core count so the cores finish together;
    /// when there are too few rows for that, the columns are split as well.
    /// </summary>
    static (int RowTasks, int ColTasks, int PanelsPerTask) Split(int m, int panels, bool parallel)
    {
        int cores = parallel ? Environment.ProcessorCount : 1;
        int rowTasks = (m + MCMax - 1) / MCMax, colTasks = 1;
        if (rowTasks >= 2 * cores) rowTasks = (rowTasks + cores - 1) / cores * cores;
        if (rowTasks < 2 * cores && parallel) colTasks = Math.Min(panels, (2 * cores + rowTasks - 1) / rowTasks);
        int panelsPerTask = (panels + colTasks - 1) / colTasks;
        return (rowTasks, (panels + panelsPerTask - 1) / panelsPerTask, panelsPerTask);
    }

    /// <summary>
    /// Rows [r0, r0+rows) of C against B panels [q0, q0+count) of the strip starting at column j0:
    /// per KC slab, pack this task's A block, then sweep every micro-tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block(Problem p, float* A, float* C, float* R, float* packedB, int r0, int rows, int j0, int width,
        int q0, int count, int panels)
    {
        int nr = NR;
        float* packedA = PinnedScratch.Get(ref aPackStore, (long)(MCMax + MR) * p.KC);
        float* tile = stackalloc float[MR * nr + 16];
        tile = PinnedScratch.Aligned(tile);
        var epilogue = new GemmMicroKernel.Epilogue(p.Alpha, p.Bias, p.Act);
        if (p.K == 0)
        {
            new Span<float>(tile, MR * nr).Clear();
            for (int q = q0; q < q0 + count; q++)
                for (int i = 0; i < rows; i += MR)
                    StoreTile(p, C, R, tile, r0 + i, Math.Min(MR, rows - i), j0 + q * nr, Math.Min(nr, width - q * nr), true, true, epilogue);
            return;
        }
        for (int k0 = 0; k0 < p.K; k0 += p.KC)
        {
            int kc = Math.Min(p.KC, p.K - k0);
            bool first = k0 == 0, last = k0 + kc == p.K;
            for (int i = 0; i < rows; i += MR)
                PackAPanel(packedA + (long)i * kc, A, p.ARow, p.ACol, r0 + i, Math.Min(MR, rows - i), k0, kc);
            float* slabB = packedB + (long)k0 * panels * nr;
            for (int q = q0; q < q0 + count; q++)
            {
                float* panelB = slabB + (long)q * kc * nr;
                int col = j0 + q * nr, cols = Math.Min(nr, width - q * nr);
                for (int i = 0; i < rows; i += MR)
                {
                    int h = Math.Min(MR, rows - i);
                    long o = (long)(r0 + i) * p.N + col;
                    Prefetch(C + o, p.N, h);
                    if (h == MR && cols == nr && GemmMicroKernel.CanStoreDirect(R != null, epilogue))
                        GemmMicroKernel.RunInto(kc, packedA + (long)i * kc, panelB, C + o, R == null ? null : R + o, p.N, col, first, last, epilogue);
                    else
                    {
                        GemmMicroKernel.Run(kc, packedA + (long)i * kc, panelB, tile);
                        StoreTile(p, C, R, tile, r0 + i, h, col, cols, first, last, epilogue);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Asks for the C rows a tile will be stored to while the micro-kernel runs: they were last
    /// touched a whole slab ago, and two dozen cold misses in a row would stall the store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch(float* c, int ldc, int rows)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < rows; i++, c += ldc)
        {
            Sse.Prefetch0(c);
            Sse.Prefetch0(c + 16);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreTile(Problem p, float* C, float* R, float* tile, int row, int rows, int col, int cols, bool first, bool last,
        in GemmMicroKernel.Epilogue e)
    {
        long o = (long)row * p.N + col;
        GemmMicroKernel.Store(tile, C + o, R == null ? null : R + o, p.N, rows, cols, col, first, last, e);
    }

    /// <summary>
    /// B's columns [j0, j0+width) as NR-wide panels, K-major, slab after KC slab: slab k0 starts
    /// at k0·panels·NR and its panel q at q·kc·NR within it.
    /// </summary>
    static void PackB(Problem p, float* B, int j0, int width, int panels, float* dst, bool parallel)
    {
        int nr = NR, slabs = (p.K + p.KC - 1) / p.KC;
        void Panel(int t)
        {
            int s = t / panels, q = t % panels, k0 = s * p.KC, kc = Math.Min(p.KC, p.K - k0);
            PackBPanel(dst + (long)k0 * panels * nr + (long)q * kc * nr, B, p.BRow, p.BCol, k0, kc, j0 + q * nr,
                Math.Min(nr, width - q * nr), nr);
        }
        if (parallel && (long)p.K * width > 1 << 16) CpuCores.For(0, slabs * panels, Panel);
        else for (int t = 0; t < slabs * panels; t++) Panel(t);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackBPanel(float* dst, float* B, int bRow, int bCol, int k0, int kc, int j0, int w, int nr)
    {
        if (bCol == 1)
        {
            // Row-major B: each k is a contiguous run of w columns.
            for (int k = 0; k < kc; k++)
            {
                var src = new ReadOnlySpan<float>(B + (long)(k0 + k) * bRow + j0, w);
                var d = new Span<float>(dst + k * nr, nr);
                src.CopyTo(d);
                d[w..].Clear();
            }
            return;
        }
        // Transposed B ([N, K], a Linear weight): each column is a contiguous run along k.
        if (w < nr) new Span<float>(dst, kc * nr).Clear();
        int j = 0;
        if (Transpose4x4.IsSupported)
            for (; j + 4 <= w; j += 4)
            {
                float* src = B + (long)(j0 + j) * bCol + k0;
                int k = 0;
                for (; k + 4 <= kc; k += 4)
                    Transpose4x4.Run(src + k, bCol, dst + k * nr + j, nr);
                for (; k < kc; k++)
                    for (int jj = 0; jj < 4; jj++) dst[k * nr + j + jj] = src[(long)jj * bCol + k];
            }
        for (; j < w; j++)
        {
            float* src = B + (long)(j0 + j) * bCol + k0;
            for (int k = 0; k < kc; k++) dst[k * nr + j] = src[k];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackAPanel(float* dst, float* A, int aRow, int aCol, int i0, int h, int k0, int kc)
    {
        if (h < MR) new Span<float>(dst, kc * MR).Clear();
        if (aCol == 1)
        {
            // Row-major A: each row is a contiguous run along k. Four rows at a time go through
            // 4×4 transposes (a scalar scatter was most of the packing time, and the packing ~6% of
            // the MLP's second GEMM, where there are fewest flops per element of A).
            int i = 0;
            if (Transpose4x4.IsSupported)
                for (; i + 4 <= h; i += 4)
                {
                    float* src = A + (long)(i0 + i) * aRow + k0;
                    int k = 0;
                    for (; k + 4 <= kc; k += 4) Transpose4x4.Run(src + k, aRow, dst + k * MR + i, MR);
                    for (; k < kc; k++)
                        for (int ii = 0; ii < 4; ii++) dst[k * MR + i + ii] = src[(long)ii * aRow + k];
                }
            // The AVX2 panel's last two rows in pairs: left to the scalar loop below, they were a third of A.
            if (Transpose4x4.IsSupported)
                for (; i + 2 <= h; i += 2)
                {
                    float* src = A + (long)(i0 + i) * aRow + k0;
                    int k = 0;
                    for (; k + 4 <= kc; k += 4) Transpose4x4.RunPair(src + k, aRow, dst + k * MR + i, MR);
                    for (; k < kc; k++)
                        for (int ii = 0; ii < 2; ii++) dst[k * MR + i + ii] = src[(long)ii * aRow + k];
                }
            for (; i < h; i++)
            {
                float* src = A + (long)(i0 + i) * aRow + k0;
                for (int k = 0; k < kc; k++) dst[k * MR + i] = src[k];
            }
            return;
        }
        // Transposed A ([K, M]): each k is a contiguous run of rows.
        for (int k = 0; k < kc; k++)
        {
            float* src = A + (long)(k0 + k) * aCol + i0;
            for (int i = 0; i < h; i++) dst[k * MR + i] = src[i];
        }
    }

    /// <summary>
    /// Rows [0, h) of a row-major A (lda apart) as one MR-row micro-panel over all k, zero past h: a fused
    /// op's A operand packed for <see cref="GemmMicroKernel"/> at lda = MR.
    /// </summary>
    internal static void PackRows(float* dst, float* a, int lda, int h, int k) => PackAPanel(dst, a, lda, 1, 0, h, 0, k);

    /// <summary>
    /// Rows [j0, j0 + w) of an [N, K] matrix (a transposed B) as one NR-wide micro-panel over all k, zero past
    /// w: a fused op's B operand packed for <see cref="GemmMicroKernel"/> at ldb = NR.
    /// </summary>
    internal static void PackTransposedColumns(float* dst, float* b, int k, int j0, int w) => PackBPanel(dst, b, 1, k, 0, k, j0, w, NR);

    /// <summary>
    /// Columns [j0, j0 + w) of a row-major [K, N] matrix (ldb apart) as one NR-wide micro-panel over all k, zero
    /// past w: a fused op's B operand packed for <see cref="GemmMicroKernel"/> at ldb = NR.
    /// </summary>
    internal static void PackColumns(float* dst, float* b, int ldb, int k, int j0, int w) => PackBPanel(dst, b, ldb, 1, 0, k, j0, w, NR);
}
