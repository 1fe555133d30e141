using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// GEMM against its float64 definition: odd sizes (never a tile multiple), all four transpose
/// combinations, batches with per-item and shared operands, every epilogue, and a residual that
/// is C itself. The barrier-heavy tiled kernel gets only tiny shapes on ilgpu-cpu. A long K over
/// non-negative inputs holds the sums' rounding to what blocked accumulation achieves.
/// </summary>
internal sealed class GemmChecks : ICheckSuite
{
    enum Residual { None, Separate, AliasC }

    /// <summary>Shared: a rank-2 operand (or, with Unit, a [1, ...] one) reused by every batch item.</summary>
    enum Operand { PerItem, Shared, Unit }

    sealed record Case(int Batch, int M, int N, int K, bool TransA = false, bool TransB = false,
        Operand A = Operand.PerItem, Operand B = Operand.PerItem, bool Bias = false, Activation Act = Activation.None,
        Residual Residual = Residual.None, float Alpha = 1f, bool NonNegative = false)
    {
        public override string ToString() =>
            $"{(Batch > 1 ? Batch + "×" : "")}{M}×{N}×{K}"
            + (TransA ? " Aᵀ" : "") + (TransB ? " Bᵀ" : "")
            + (A != Operand.PerItem ? $" A:{A.ToString().ToLowerInvariant()}" : "")
            + (B != Operand.PerItem ? $" B:{B.ToString().ToLowerInvariant()}" : "")
            + (Alpha != 1 ? $" α={Alpha}" : "") + (Bias ? " +bias" : "")
            + (Act != Activation.None ? " " + Act.ToString().ToLowerInvariant() : "")
            + Residual switch { Residual.Separate => " +res", Residual.AliasC => " +res=C", _ => "" }
            + (NonNegative ? " a,b≥0" : "");
    }

    // Tiled kernel on ilgpu-cpu: M·N·K ≤ 40³ (the long K aside), still crossing tile edges
    // (BM = BN = 64, BK = 16).
    static readonly Case[] Tiny =
    [
        new(1, 1, 1, 1),
        new(1, 7, 33, 5, TransA: true),
        new(1, 33, 40, 17, TransB: true, Bias: true, Act: Activation.Gelu),
        new(1, 40, 7, 33, TransA: true, TransB: true, Act: Activation.Relu, Alpha: 0.5f, Residual: Residual.Separate),
        new(2, 17, 33, 20, Bias: true, Residual: Residual.AliasC),
        new(3, 9, 20, 30, TransB: true, A: Operand.Shared),
        new(2, 20, 9, 33, TransA: true, B: Operand.Unit, Act: Activation.Gelu),
        new(1, 65, 3, 9, TransB: true),
        new(1, 3, 70, 5, TransA: true, Bias: true),
        new(1, 7, 5, 0, Bias: true, Act: Activation.Gelu, Residual: Residual.Separate),
        new(1, 4, 4, 4096, NonNegative: true),
    ];

    // Everywhere else. The larger ones cross the native path's K slabs (K > 1024), its parallel
    // split and its batch-parallel mode.
    static readonly Case[] Moderate =
    [
        new(1, 1, 1, 1),
        new(1, 7, 5, 0, Bias: true, Act: Activation.Gelu, Residual: Residual.Separate),
        new(1, 7, 33, 65, TransA: true),
        new(1, 65, 130, 257, TransB: true, Bias: true),
        new(1, 130, 65, 33, TransA: true, TransB: true, Act: Activation.Gelu),
        new(1, 257, 7, 130, Bias: true, Act: Activation.Relu, Alpha: 0.5f),
        new(1, 33, 257, 7, Residual: Residual.Separate),
        new(1, 65, 33, 300, Bias: true, Act: Activation.Gelu, Residual: Residual.AliasC),
        new(1, 300, 200, 600, TransB: true, Bias: true, Act: Activation.Gelu, Residual: Residual.AliasC),
        new(1, 5, 1030, 600, TransB: true, Bias: true),
        new(1, 301, 129, 77, TransA: true, Residual: Residual.AliasC, Alpha: -2f),
        new(1, 40, 70, 1500, TransB: true, Bias: true, Act: Activation.Gelu, Residual: Residual.AliasC),
        new(1, 130, 33, 2100, TransA: true, Act: Activation.Relu, Residual: Residual.Separate),
        // The encoder's MLP: whole native tiles finished from registers over two K slabs, the residual in place / GELU.
        new(1, 36, 64, 2100, TransB: true, Bias: true, Residual: Residual.AliasC),
        new(1, 36, 70, 1100, TransB: true, Bias: true, Act: Activation.Gelu),
        new(3, 33, 65, 17),
        new(3, 65, 33, 40, TransB: true, A: Operand.Shared),
        new(4, 7, 130, 65, TransA: true, B: Operand.Unit, Bias: true, Act: Activation.Relu, Residual: Residual.Separate),
        new(16, 33, 40, 20, TransB: true, Residual: Residual.AliasC),
        new(2, 130, 257, 300, TransA: true, TransB: true, B: Operand.Shared, Bias: true),
        new(1, 16, 16, 16384, NonNegative: true),
        // A few rows (the decoder's tokens), which the native path reads unpacked: partial row
        // groups, partial column blocks, K tails, the parallel split, a long K in vector lanes.
        new(1, 7, 2048, 256, TransB: true, Bias: true, Act: Activation.Relu),
        new(1, 7, 256, 2048, TransB: true, Bias: true, Residual: Residual.AliasC),
        new(8, 7, 256, 16),
        new(1, 3, 29, 13, Bias: true, Act: Activation.Gelu, Residual: Residual.Separate),
        new(2, 6, 37, 19, TransB: true, A: Operand.Shared, Act: Activation.Gelu, Alpha: 0.5f),
        new(3, 8, 50, 9, TransA: true, B: Operand.Shared, Residual: Residual.AliasC),
        new(1, 2, 5, 4096, TransB: true, NonNegative: true),
    ];

    public IEnumerable<KernelCheck> Cases(Device device)
    {
        bool tiny = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        foreach (var c in tiny ? Tiny : Moderate)
            yield return new KernelCheck("gemm", c.ToString(), Tolerance(c), d => Run(d, c));
    }

    // Signed inputs: the rounding of a K-term float32 sum grows somewhat faster than the result,
    // both about like √K (1.1e-6 at most measured, up to K = 2100). Non-negative inputs: no
    // cancellation, partial sums grow to K/4, and one chain of adds over all of K drifts by
    // 2e-6 (K = 4096) to 5e-6 (K = 16384) of the result; sums blocked along K stay under 6e-7.
    static double Tolerance(Case c) => c.NonNegative ? 1.5e-6 : 1e-7 * Math.Sqrt(c.K) + 1e-6;

    static Comparison Run(Device d, Case c)
    {
        int[] aShape = c.TransA ? [c.K, c.M] : [c.M, c.K], bShape = c.TransB ? [c.N, c.K] : [c.K, c.N];
        int[] cShape = c.Batch > 1 ? [c.Batch, c.M, c.N] : [c.M, c.N];
        aShape = Batched(aShape, c.A, c.Batch);
        bShape = Batched(bShape, c.B, c.Batch);
        float low = c.NonNegative ? 0 : -1;
        var a = CheckData.Uniform(1, Tensor.Count(aShape), low);
        var b = CheckData.Uniform(2, Tensor.Count(bShape), low);
        var bias = c.Bias ? CheckData.Uniform(3, c.N) : null;
        var res = c.Residual != Residual.None ? CheckData.Uniform(4, Tensor.Count(cShape)) : null;

        using var ta = CheckData.Upload(d, a, aShape);
        using var tb = CheckData.Upload(d, b, bShape);
        using var tbias = bias != null ? CheckData.Upload(d, bias, c.N) : null;
        using var tc = c.Residual == Residual.AliasC ? CheckData.Upload(d, res!, cShape) : CheckData.Poisoned(d, cShape);
        using var tres = c.Residual == Residual.Separate ? CheckData.Upload(d, res!, cShape) : null;
        Gemm.Forward(ta, tb, tc, c.TransA, c.TransB, c.Alpha, tbias, c.Act, c.Residual == Residual.AliasC ? tc : tres);

        var shape = GemmShape.Of(ta, tb, tc, c.TransA, c.TransB, tbias, tres);
        var expected = Gemm.Reference(CheckData.Widen(a), CheckData.Widen(b), shape, c.Alpha,
            bias != null ? CheckData.Widen(bias) : null, c.Act, res != null ? CheckData.Widen(res) : null);
        return Comparison.Of(expected, tc.Download());
    }

    static int[] Batched(int[] shape, Operand kind, int batch) => kind switch
    {
        Operand.Shared => shape,
        Operand.Unit => [1, .. shape],
        _ => batch > 1 ? [batch, .. shape] : shape,
    };
}
