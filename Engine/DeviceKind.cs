namespace SamEngine.Engine;

/// <summary>The four places an op can run. Cuda/OpenCL/IlgpuCpu run the ILGPU kernels; Cpu runs native C#.</summary>
internal enum DeviceKind
{
    Cpu,
    IlgpuCpu,
    Cuda,
    OpenCL,
}

/// <summary>
/// Which family of ILGPU kernels a device uses. GPUs want shared-memory tiles; ILGPU's CPU
/// accelerator turns every barrier into an OS-thread sync, so it wants barrier-free kernels.
/// Both families are tested on every device that can run them.
/// </summary>
internal enum KernelVariant
{
    Tuned,
    Portable,
}

internal static class DeviceKindNames
{
    public static string Name(this DeviceKind kind) => kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.IlgpuCpu => "ilgpu-cpu",
        DeviceKind.Cuda => "cuda",
        DeviceKind.OpenCL => "opencl",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParse(string text, out DeviceKind kind)
    {
        foreach (var k in Enum.GetValues<DeviceKind>())
        {
            if (string.Equals(k.Name(), text, StringComparison.OrdinalIgnoreCase))
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }
}
