namespace SamEngine.Engine;

/// <summary>
/// Marks a static method as an ILGPU kernel entry point, so that `sam kernels --emit` and its
/// test can compile every kernel for PTX and OpenCL without a device. Kernels must not be
/// generic: an emitted entry point needs concrete types.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
internal sealed class SamKernelAttribute : Attribute
{
    public SamKernelAttribute(string name) => Name = name;

    public string Name { get; }

    /// <summary>True for kernels launched with an explicit group size (shared memory, barriers).</summary>
    public bool Grouped { get; init; }
}
