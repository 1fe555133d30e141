using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

internal sealed class AttentionChecks : ICheckSuite
{
    /// <summary>
    /// One attention problem; Grid is (qh, qw, kh, kw) when it has the rel-pos bias. Diagonal
    /// tables come from one row per key − query offset, as get_rel_pos makes them without
    /// interpolating (the encoder's case; the cpu path stores them compactly), others are random.
    /// </summary>
    sealed record Case(int Batch, int Nq, int Nk, int D, int Dv, (int Qh, int Qw, int Kh, int Kw)? Grid = null, bool Diagonal = false)
    {
        public bool Small => Batch <= 4 && Nq <= 40 && Nk <= 70;

        public override string ToString() =>
            $"B{Batch} {Nq}→{Nk} d{D}" + (Dv != D ? $" dv{Dv}" : "") + (Grid is var (a, b, c, e) ? $" rel {a}×{b}→{c}×{e}" : "") +
            (Diagonal ? " diagonal" : "");
    }

    static readonly Case[] Sweep =
    [
        new(2, 7, 7, 16, 16),                     // decoder token self-attention
        new(3, 1, 1, 32, 32),
        new(2, 33, 33, 64, 64),
        new(4, 7, 130, 32, 32),                   // decoder token → image
        new(2, 130, 7, 16, 16),                   // decoder image → token
        new(2, 33, 65, 20, 12),                   // head dims off the vector width
        new(1, 65, 1030, 64, 64),                 // several key tiles
        new(2, 14, 4096, 16, 16),                 // decoder token → whole image: many key tiles and blocks
        new(1, 300, 300, 20, 12),                 // several query blocks, padded values
        new(2, 1, 1, 16, 16, (1, 1, 1, 1)),
        new(2, 196, 196, 64, 64, (14, 14, 14, 14)), // an encoder window
        new(3, 35, 35, 32, 32, (5, 7, 5, 7)),     // non-square grid
        new(2, 35, 18, 16, 16, (5, 7, 6, 3)),     // query and key grids differ
        new(2, 33, 33, 20, 12, (3, 11, 3, 11)),
        new(1, 576, 576, 64, 64, (24, 24, 24, 24)), // several key tiles of whole key rows
        new(64, 33, 33, 20, 12, (3, 11, 3, 11)),  // many batch items: the cpu path's per-item scheduling
        new(2, 256, 256, 32, 32, (16, 16, 16, 16), Diagonal: true),
        new(1, 1024, 1024, 64, 64, (32, 32, 32, 32), Diagonal: true), // a small global block: several key tiles
        new(2, 48, 64, 16, 16, (3, 16, 4, 16), Diagonal: true),
        new(2, 192, 128, 32, 32, (3, 64, 2, 64)),   // key rows of 64: the cpu path adds the bias in the score kernel
        new(1, 256, 256, 16, 16, (2, 128, 2, 128), Diagonal: true),
        // Hundreds of work-groups, each on its own batch item: where groups run concurrently (every
        // GPU, PoCL), one group's shared tiles must not be another's. ILGPU's dynamic shared memory
        // failed this on OpenCL (relative error 0.3–0.9 on PoCL, 2 cores).
        new(96, 64, 96, 64, 64),
    ];

    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // The flash kernel synchronises its group several times per key tile: on ilgpu-cpu each
        // barrier is an OS-thread sync, so it only gets the small shapes there.
        bool smallOnly = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        foreach (var c in Sweep)
            if (!smallOnly || c.Small)
                yield return new KernelCheck("attention", c.ToString(), Tolerance(c), d => Run(d, c));
    }

    // Each output is a weighted mean of values in [−1, 1] after a few roundings of exp and of the
    // sums: ≤ 1e-6 measured. Over 4096 keys the sums must be accumulated per tile or block of
    // keys (≤ 4e-7 measured): one chain of adds over all keys drifts to 2e-6.
    static double Tolerance(Case c) => c.Nk >= 4096 ? 1.2e-6 : 3e-6;

    static Comparison Run(Device device, Case c)
    {
        float scale = 1 / MathF.Sqrt(c.D);
        var q = CheckData.Uniform(1, (long)c.Batch * c.Nq * c.D, -2, 2);
        var k = CheckData.Uniform(2, (long)c.Batch * c.Nk * c.D);
        var v = CheckData.Uniform(3, (long)c.Batch * c.Nk * c.Dv);
        using var tq = CheckData.Upload(device, q, c.Batch, c.Nq, c.D);
        using var tk = CheckData.Upload(device, k, c.Batch, c.Nk, c.D);
        using var tv = CheckData.Upload(device, v, c.Batch, c.Nk, c.Dv);
        using var to = CheckData.Poisoned(device, c.Batch, c.Nq, c.Dv);
        if (c.Grid is not var (qh, qw, kh, kw))
        {
            Attention.Forward(tq, tk, tv, scale, to);
            return Comparison.Of(Attention.Reference(CheckData.Widen(q), CheckData.Widen(k), CheckData.Widen(v),
                c.Batch, c.Nq, c.Nk, c.D, c.Dv, scale), to.Download());
        }
        var relH = c.Diagonal ? Diagonals(4, qh, kh, c.D) : CheckData.Uniform(4, (long)qh * kh * c.D, -0.5f, 0.5f);
        var relW = c.Diagonal ? Diagonals(5, qw, kw, c.D) : CheckData.Uniform(5, (long)qw * kw * c.D, -0.5f, 0.5f);
        using var th = CheckData.Upload(device, relH, qh, kh, c.D);
        using var tw = CheckData.Upload(device, relW, qw, kw, c.D);
        Attention.Forward(tq, tk, tv, scale, to, new RelPosBias(th, tw, qh, qw, kh, kw));
        return Comparison.Of(Attention.Reference(CheckData.Widen(q), CheckData.Widen(k), CheckData.Widen(v),
            c.Batch, c.Nq, c.Nk, c.D, c.Dv, scale, CheckData.Widen(relH), CheckData.Widen(relW), qh, qw, kh, kw), to.Download());
    }

    /// <summary>[rows, keys, d] with entry (r, kk) = row r − kk + keys − 1 of a random table.</summary>
    static float[] Diagonals(int seed, int rows, int keys, int d)
    {
        var table = CheckData.Uniform(seed, (long)(rows + keys - 1) * d, -0.5f, 0.5f);
        var expanded = new float[(long)rows * keys * d];
        for (int r = 0; r < rows; r++)
            for (int kk = 0; kk < keys; kk++)
                Array.Copy(table, (r - kk + keys - 1) * d, expanded, ((long)r * keys + kk) * d, d);
        return expanded;
    }
}
