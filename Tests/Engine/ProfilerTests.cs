using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Tests.Engine;

public class ProfilerTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void LaunchesAreAttributedToKernelAndStage(string deviceName)
    {
        var device = Devices.Open(deviceName);
        using var a = Tensor.Empty(device, 64, 64);
        using var b = Tensor.Empty(device, 64, 64);
        a.Fill(1); b.Fill(1);
        Add.Forward(a, b, a); // warm-up: compiles the kernel outside the profile
        Profiler.Start();
        try
        {
            using (Profiler.Stage("encoder"))
            using (Profiler.Stage("block00"))
                for (int i = 0; i < 3; i++) Add.Forward(a, b, a);
            Add.Forward(a, b, a);
        }
        finally { Profiler.Stop(); }
        var records = Profiler.Records;
        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.Equal("add", r.Kernel));
        Assert.Equal(3, records.Count(r => r.Stage == "encoder/block00"));
        Assert.All(records, r => Assert.True(r.DurationMs >= 0));
        var summary = Assert.Single(ProfileReport.ByKernel(records));
        Assert.Equal(4, summary.Calls);
        Assert.Equal(1.0, summary.Share, 6);
        Assert.Equal(4 * 64 * 64, records.Sum(r => r.Flops));
        Assert.Equal(6f, a.Download()[0]); // 1 + warm-up + 4 profiled adds

        using var trace = new MemoryStream();
        ProfileReport.WriteChromeTrace(records, trace);
        using var doc = System.Text.Json.JsonDocument.Parse(trace.ToArray());
        Assert.Equal(4, doc.RootElement.GetProperty("traceEvents").GetArrayLength());
    }
}
