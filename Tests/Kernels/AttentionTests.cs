using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// Hand-computed cases that pin down what the sweep's float64 reference itself means: which grid
/// axis RelH and RelW index, that the bias uses the unscaled q, and that shapes are validated.
/// The sweep (AttentionChecks) then holds every backend to that reference.
/// </summary>
public class AttentionTests
{
    public static IEnumerable<object[]> Backends() =>
    [
        ["cpu", KernelVariant.Tuned],
        ["ilgpu-cpu", KernelVariant.Tuned],
        ["ilgpu-cpu", KernelVariant.Portable],
    ];

    static Device Open(string name, KernelVariant variant) => Devices.Open(name).WithVariant(variant);

    // q = 1, k = 0 (d = 1), so a score is its bias alone: query (i, j) weighs key (k, l) by
    // exp(RelH[i, k])·exp(RelW[j, l]). With RelH rows (1, 2) and (3, 1) and RelW rows (1, 1)
    // and (5, 1) as exponentials, and v the identity, the output rows are those weights normalised.
    static readonly float[] RelH = [0, MathF.Log(2), MathF.Log(3), 0];
    static readonly float[] RelW = [0, 0, MathF.Log(5), 0];
    static readonly double[][] Expected =
    [
        [1 / 6.0, 1 / 6.0, 2 / 6.0, 2 / 6.0],   // query (0, 0): [1, 2] ⊗ [1, 1]
        [5 / 18.0, 1 / 18.0, 10 / 18.0, 2 / 18.0], // query (0, 1): [1, 2] ⊗ [5, 1]
        [3 / 8.0, 3 / 8.0, 1 / 8.0, 1 / 8.0],   // query (1, 0): [3, 1] ⊗ [1, 1]
        [15 / 24.0, 3 / 24.0, 5 / 24.0, 1 / 24.0], // query (1, 1): [3, 1] ⊗ [5, 1]
    ];
    static readonly float[] Identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

    [Fact]
    public void ReferenceIndexesRelHByRowAndRelWByColumn()
    {
        var got = Attention.Reference([1, 1, 1, 1], [0, 0, 0, 0], Identity.Select(x => (double)x).ToArray(), 1, 4, 4, 1, 4, 1,
            RelH.Select(x => (double)x).ToArray(), RelW.Select(x => (double)x).ToArray(), 2, 2, 2, 2);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) Assert.Equal(Expected[i][j], got[i * 4 + j], 7); // the tables are float-rounded logs
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ForwardIndexesRelHByRowAndRelWByColumn(string device, object variant)
    {
        var d = Open(device, (KernelVariant)variant);
        using var q = Tensor.FromArray(d, [1f, 1, 1, 1], 1, 4, 1);
        using var k = Tensor.FromArray(d, [0f, 0, 0, 0], 1, 4, 1);
        using var v = Tensor.FromArray(d, Identity, 1, 4, 4);
        using var h = Tensor.FromArray(d, RelH, 2, 2, 1);
        using var w = Tensor.FromArray(d, RelW, 2, 2, 1);
        using var o = Tensor.Empty(d, 1, 4, 4);
        Attention.Forward(q, k, v, 1f, o, new RelPosBias(h, w, 2, 2, 2, 2));
        var got = o.Download();
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) Assert.Equal(Expected[i][j], got[i * 4 + j], 6);
    }

    // One query (q = 2, scale 0.25) and two keys k = (1, 0) in a 1×2 grid with RelW = (1, 0):
    // scores are 2·0.25·1 + 2·1 = 2.5 and 0 (the bias with the scaled q would give 1 and 0).
    [Theory]
    [MemberData(nameof(Backends))]
    public void RelBiasUsesTheUnscaledQuery(string device, object variant)
    {
        var d = Open(device, (KernelVariant)variant);
        using var q = Tensor.FromArray(d, [2f], 1, 1, 1);
        using var k = Tensor.FromArray(d, [1f, 0], 1, 2, 1);
        using var v = Tensor.FromArray(d, [1f, 0], 1, 2, 1);
        using var h = Tensor.FromArray(d, [0f], 1, 1, 1);
        using var w = Tensor.FromArray(d, [1f, 0], 1, 2, 1);
        using var o = Tensor.Empty(d, 1, 1, 1);
        Attention.Forward(q, k, v, 0.25f, o, new RelPosBias(h, w, 1, 1, 1, 2));
        Assert.Equal(Math.Exp(2.5) / (Math.Exp(2.5) + 1), o.Download()[0], 6);
    }

    [Fact]
    public void RejectsMismatchedShapes()
    {
        var d = Devices.Open("cpu");
        using var q = Tensor.Empty(d, 2, 7, 16);
        using var k = Tensor.Empty(d, 2, 9, 16);
        using var v = Tensor.Empty(d, 2, 9, 8);
        using var o = Tensor.Empty(d, 2, 7, 8);
        using var badK = Tensor.Empty(d, 2, 9, 15);
        using var badO = Tensor.Empty(d, 2, 7, 16);
        Assert.Contains("[2×9×15]", Assert.Throws<ArgumentException>(() => Attention.Forward(q, badK, v, 1, o)).Message);
        Assert.Throws<ArgumentException>(() => Attention.Forward(q, k, v, 1, badO));
        using var h = Tensor.Empty(d, 7, 3, 16);
        using var w = Tensor.Empty(d, 1, 3, 16);
        h.Fill(0);
        w.Fill(0);
        // 7×1 queries onto a 3×3 key grid is fine; 7×1 onto 3×2 does not cover 9 keys.
        Attention.Forward(q, k, v, 1, o, new RelPosBias(h, w, 7, 1, 3, 3));
        Assert.Throws<ArgumentException>(() => Attention.Forward(q, k, v, 1, o, new RelPosBias(h, w, 7, 1, 3, 2)));
        Assert.Throws<ArgumentException>(() => Attention.Forward(q, k, v, 1, o, new RelPosBias(w, w, 7, 1, 3, 3)));
    }

    /// <summary>
    /// The flash kernel's shared memory is fixed per compiled variant: every head size must fit its
    /// variant, and each variant's size must be what its largest head size needs (not more).
    /// </summary>
    [Fact]
    public void FlashTilesFitTheirVariantsSharedMemory()
    {
        int smallMax = 0, largeMax = 0;
        foreach (int groupSize in new[] { 16, 64, 128, 1024 })
            for (int d = 1; d <= AttentionIlgpu.MaxHeadDim; d++)
                for (int dv = 1; dv <= AttentionIlgpu.MaxHeadDim; dv++)
                {
                    int floats = new AttentionDims(new AttentionShape(1, 1, 1, d, dv, 1, false, 0, 0, 0, 0), groupSize).SharedFloats;
                    if (Math.Max(d, dv) <= AttentionIlgpu.SmallHeadDim) smallMax = Math.Max(smallMax, floats);
                    else largeMax = Math.Max(largeMax, floats);
                }
        Assert.Equal(AttentionIlgpu.SmallSharedFloats, smallMax);
        Assert.Equal(AttentionIlgpu.LargeSharedFloats, largeMax);
        Assert.True(AttentionIlgpu.LargeSharedFloats * sizeof(float) <= 48 * 1024, "over CUDA's 48 KiB of static shared memory");
    }
}
