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

    [Fact]
    public void AutoPrefersGpuThenCpu()
    {
        var auto = Devices.Open("auto");
        bool gpu = Devices.List().Any(d => d.Usable && d.Kind is DeviceKind.Cuda or DeviceKind.OpenCL);
        Assert.Equal(gpu, auto.Kind is DeviceKind.Cuda or DeviceKind.OpenCL);
        if (!gpu) Assert.Equal(DeviceKind.Cpu, auto.Kind);
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
