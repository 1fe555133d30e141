using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// The `sam kernels --check` sweep as tests: every op, every shape, on the native cpu path and
/// on ilgpu-cpu with both kernel families (the code CUDA and OpenCL run), plus cuda/opencl when
/// present. Each case's output starts as NaN and must match the float64 reference.
/// </summary>
public class KernelCheckTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var kind in new[] { DeviceKind.Cpu, DeviceKind.IlgpuCpu, DeviceKind.Cuda, DeviceKind.OpenCL })
        {
            if (!Devices.TryOpen(kind, out var device)) continue;
            foreach (var (view, check) in KernelChecks.All(device))
                yield return [kind.Name(), KernelChecks.VariantName(view), check.Kernel, check.Shape];
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReference(string device, string variant, string kernel, string shape)
    {
        DeviceKindNames.TryParse(device, out var kind);
        var (view, check) = KernelChecks.All(Devices.Open(kind))
            .Single(x => KernelChecks.VariantName(x.Device) == variant && x.Check.Kernel == kernel && x.Check.Shape == shape);
        var r = KernelChecks.Run(view, check);
        Assert.True(r.Pass, $"{kernel} {shape} on {device}/{variant}: rel err {r.RelErr:E2} (max abs {r.MaxAbsErr:E2}) > {r.Tolerance:E2} {r.Error}");
    }

    /// <summary>Says, where no OpenCL device exists, that the sweep's opencl cases did not run, and why.</summary>
    [SkippableFact]
    public void TheSweepRunsOnOpenCl()
    {
        var device = TestDevices.Open("opencl");
        Assert.Contains(KernelChecks.All(device), x => x.Check.Kernel == "attention" && x.Device.Variant == KernelVariant.Tuned);
    }

    [Fact]
    public void EveryOpHasChecks()
    {
        var kernels = KernelChecks.All(Devices.Open(DeviceKind.Cpu)).Select(x => x.Check.Kernel).ToHashSet();
        Assert.NotEmpty(kernels);
        Assert.Contains("add", kernels);
    }
}
