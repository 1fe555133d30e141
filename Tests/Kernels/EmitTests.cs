using System.Text.RegularExpressions;
using ILGPU.Runtime.OpenCL;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// Every ILGPU kernel must generate PTX and OpenCL C with no device present; where an OpenCL
/// device exists (PoCL in CI), that OpenCL C must also compile there.
/// </summary>
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

    [SkippableTheory]
    [MemberData(nameof(Names))]
    public void EmittedOpenCLCompilesOnTheOpenClDevice(string name)
    {
        Skip.IfNot(Devices.TryOpen(DeviceKind.OpenCL, out var device), "no usable OpenCL device here (PoCL: ../shared/opencl, as .ci/run sets it up)");
        var cl = (CLAccelerator)device.RequireAccelerator();
        var source = KernelEmitter.EmitOpenCL(All.Single(k => k.Name == name));
        var api = CLAPI.CurrentAPI;
        Assert.Equal(CLError.CL_SUCCESS, api.CreateProgram(cl.NativePtr, source, out var program));
        try
        {
            var built = api.BuildProgram(program, cl.DeviceId, $"-cl-std={cl.CLStdVersion}");
            string? log = null;
            if (built != CLError.CL_SUCCESS) api.GetProgramBuildLog(program, cl.DeviceId, out log);
            Assert.True(built == CLError.CL_SUCCESS, $"{name}: {built}: {log}");
        }
        finally
        {
            api.ReleaseProgram(program);
        }
    }
}
