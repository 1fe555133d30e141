using System.Text.RegularExpressions;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Tests.Kernels;

/// <summary>Every ILGPU kernel must generate PTX and OpenCL C with no device present.</summary>
public class EmitTests
{
    static IReadOnlyList<KernelEntry> All => KernelEmitter.Find(typeof(KernelChecks).Assembly);

    public static IEnumerable<object[]> Names() => All.Select(k => new object[] { k.Name });

    [Fact]
    public void KernelNamesAreUnique() =>
        Assert.Equal(All.Count, All.Select(k => k.Name).Distinct().Count());

    [Theory]
    [MemberData(nameof(Names))]
    public void EmitsOnePtxEntry(string name)
    {
        var ptx = KernelEmitter.EmitPtx(All.Single(k => k.Name == name));
        Assert.Contains(".target sm_80", ptx);
        Assert.Single(Regex.Matches(ptx, @"\.entry\s"));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EmitsOneOpenCLKernel(string name)
    {
        var cl = KernelEmitter.EmitOpenCL(All.Single(k => k.Name == name));
        Assert.Single(Regex.Matches(cl, @"\bkernel\s+void\b"));
    }
}
