using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Kernels.Check;

namespace SamEngine.Tests.Kernels;

/// <summary>What the GEMM sweep does not reach: Linear's folding of leading axes, and shape validation.</summary>
public class LinearTests
{
    public static IEnumerable<object[]> Views() =>
        from kind in new[] { DeviceKind.Cpu, DeviceKind.IlgpuCpu }
        where Devices.TryOpen(kind, out _)
        from v in KernelChecks.Variants(Devices.Open(kind))
        select new object[] { kind.Name(), KernelChecks.VariantName(v) };

    [Theory]
    [MemberData(nameof(Views))]
    public void LinearFoldsLeadingAxesIntoRows(string device, string variant)
    {
        DeviceKindNames.TryParse(device, out var kind);
        var d = KernelChecks.Variants(Devices.Open(kind)).Single(v => KernelChecks.VariantName(v) == variant);
        var x = CheckData.Uniform(1, 2 * 5 * 7);
        var w = CheckData.Uniform(2, 3 * 7);
        var bias = CheckData.Uniform(3, 3);
        var res = CheckData.Uniform(4, 2 * 5 * 3);
        using var tx = Tensor.FromArray(d, x, 2, 5, 7);
        using var tw = Tensor.FromArray(d, w, 3, 7);
        using var tb = Tensor.FromArray(d, bias, 3);
        using var tr = Tensor.FromArray(d, res, 2, 5, 3);
        using var ty = CheckData.Poisoned(d, 2, 5, 3);
        Linear.Forward(tx, tw, tb, ty, Activation.Relu, tr);

        var shape = new GemmShape(1, 10, 3, 7, TransA: false, TransB: true, BatchA: true, BatchB: true);
        var expected = Gemm.Reference(CheckData.Widen(x), CheckData.Widen(w), shape, 1, CheckData.Widen(bias), Activation.Relu, CheckData.Widen(res));
        Assert.True(Comparison.Of(expected, ty.Download()).Within(1e-5));
    }

    [Fact]
    public void MismatchedShapesAreRejectedWithTheShapes()
    {
        var d = Devices.Open(DeviceKind.Cpu);
        using var a = Tensor.Empty(d, 4, 5);
        using var b = Tensor.Empty(d, 6, 3);
        using var c = Tensor.Empty(d, 4, 3);
        var e = Assert.Throws<ArgumentException>(() => Gemm.Forward(a, b, c));
        Assert.Contains("[4×5]", e.Message);
        Assert.Contains("[6×3]", e.Message);
        using var bias = Tensor.Empty(d, 4);
        using var b2 = Tensor.Empty(d, 5, 3);
        Assert.Throws<ArgumentException>(() => Gemm.Forward(a, b2, c, bias: bias));
        using var batched = Tensor.Empty(d, 2, 4, 3);
        using var a3 = Tensor.Empty(d, 3, 4, 5);
        Assert.Throws<ArgumentException>(() => Gemm.Forward(a3, b2, batched));
    }
}
