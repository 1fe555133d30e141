using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Tests.Engine;

public class BufferPoolTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void SecondPassAllocatesNothing(string deviceName)
    {
        var device = Devices.Open(deviceName);
        void Pass()
        {
            using var a = Tensor.Empty(device, 17, 33);
            using var b = Tensor.Empty(device, 33);
            using var c = Tensor.Empty(device, 17, 33);
            a.Fill(1); b.Fill(2);
            Add.Forward(a, b, c);
        }
        Pass();
        long before = device.Pool.Allocations;
        Pass();
        Pass();
        Assert.Equal(before, device.Pool.Allocations);
    }

    [Fact]
    public void ViewsShareStorageAndOwnNothing()
    {
        var device = Devices.Open("cpu");
        using var t = Tensor.FromArray(device, [1, 2, 3, 4, 5, 6], 3, 2);
        using (var row = t.Slice(1, 2)) Assert.Equal(new float[] { 3, 4, 5, 6 }, row.Download());
        using (var flat = t.Reshape(-1)) flat.Span[0] = 9;
        Assert.Equal(9, t.Download()[0]);
        Assert.Equal([2, 3], t.Reshape(2, -1).Shape);
        Assert.Throws<ArgumentException>(() => t.Reshape(4, 2));
    }
}
