using SamEngine.Engine;

namespace SamEngine.Tests.Engine;

public class DeviceTests
{
    [Fact]
    public void CpuAndIlgpuCpuAreAlwaysPresent()
    {
        var kinds = Devices.List().Where(d => d.Usable).Select(d => d.Kind).ToHashSet();
        Assert.Contains(DeviceKind.Cpu, kinds);
        Assert.Contains(DeviceKind.IlgpuCpu, kinds);
    }

    /// <summary>cuda, then an OpenCL GPU, then the native cpu path: never a device that runs on the host's cores (PoCL, ilgpu-cpu).</summary>
    [Fact]
    public void AutoPrefersGpuThenTheNativeCpuPath()
    {
        var auto = Devices.Open("auto");
        var gpus = Devices.List().Where(d => d.Usable && !d.OnHostCores && d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL).Select(d => d.Kind).ToList();
        var expected = gpus.Contains(DeviceKind.Cuda) ? DeviceKind.Cuda : gpus.Contains(DeviceKind.OpenCL) ? DeviceKind.OpenCL : DeviceKind.Cpu;
        Assert.Equal(expected, auto.Kind);
    }

    [SkippableFact]
    public void ACpuOpenClDeviceIsListedButNotPickedByAuto()
    {
        var cpuOpenCl = Devices.List().FirstOrDefault(d => d.Kind == DeviceKind.OpenCL && d.Usable && d.OnHostCores);
        Skip.If(cpuOpenCl == null, "no CPU-type OpenCL device here (PoCL: ../shared/opencl, as .ci/run sets it up)");
        Assert.Contains("auto prefers the native cpu path", cpuOpenCl.Note);
        Assert.NotEqual(DeviceKind.OpenCL, Devices.Open("auto").Kind);
        Assert.Equal(DeviceKind.OpenCL, Devices.Open("opencl").Kind);
    }

    [Fact]
    public void UnknownOrAbsentDeviceIsAOneLineError()
    {
        var e = Assert.Throws<SamException>(() => Devices.Open("tpu"));
        Assert.Contains("unknown device 'tpu'", e.Message);
        if (!Devices.TryOpen(DeviceKind.Cuda, out _))
        {
            var missing = Assert.Throws<SamException>(() => Devices.Open("cuda"));
            Assert.StartsWith("device 'cuda' is not available here", missing.Message);
            Assert.DoesNotContain('\n', missing.Message);
        }
    }

    [Fact]
    public void VariantViewsShareTheDevice()
    {
        var d = Devices.Open(DeviceKind.IlgpuCpu);
        var tuned = d.WithVariant(KernelVariant.Tuned);
        Assert.Equal(KernelVariant.Tuned, tuned.Variant);
        Assert.Same(d.Pool, tuned.Pool);
        Assert.Same(d.Accelerator, tuned.Accelerator);
    }
}
