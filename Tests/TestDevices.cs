using SamEngine.Engine;

namespace SamEngine.Tests;

/// <summary>
/// Opens a device by name for a test, or skips the test with the reason when the machine has
/// none of that kind: cpu and ilgpu-cpu are everywhere; opencl where PoCL or a GPU runtime is
/// visible (.ci/run sets up ../shared/opencl's PoCL), cuda only on a GPU machine.
/// </summary>
internal static class TestDevices
{
    public static Device Open(string name)
    {
        DeviceKindNames.TryParse(name, out var kind);
        Skip.IfNot(Devices.TryOpen(kind, out var device),
            kind == DeviceKind.OpenCL ? "no usable OpenCL device here (PoCL: ../shared/opencl/README.md; .ci/run sets it up)" : $"no {name} device here");
        return device;
    }
}
