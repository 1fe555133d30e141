using ILGPU.Runtime;

namespace SamEngine.Engine;

/// <summary>
/// One place where tensors live and ops run. For the ILGPU kinds it owns the accelerator;
/// for <see cref="DeviceKind.Cpu"/> tensors are plain managed arrays and ops are native C#.
/// <see cref="WithVariant"/> gives a view of the same device that runs the other kernel family,
/// sharing buffers and compiled kernels, so tests can hold both families to the reference.
/// </summary>
internal sealed class Device
{
    readonly DeviceCore core;

    internal Device(DeviceCore core, KernelVariant variant)
    {
        this.core = core;
        Variant = variant;
    }

    public DeviceKind Kind => core.Kind;
    public string Name => core.Name;
    public long MemoryBytes => core.MemoryBytes;
    public int ComputeUnits => core.ComputeUnits;
    public KernelVariant Variant { get; }

    /// <summary>The ILGPU accelerator; null on the native cpu device.</summary>
    public Accelerator? Accelerator => core.Accelerator;
    public bool IsIlgpu => core.Accelerator != null;

    public BufferPool Pool => core.Pool;
    public KernelCache Kernels => core.Kernels;

    public Accelerator RequireAccelerator() =>
        core.Accelerator ?? throw new InvalidOperationException($"device {Name} runs no ILGPU kernels");

    public Device WithVariant(KernelVariant variant) => variant == Variant ? this : new Device(core, variant);

    /// <summary>Waits for every launch issued so far (a no-op on the native cpu device).</summary>
    public void Synchronize() => core.Accelerator?.Synchronize();

    public override string ToString() => $"{Kind.Name()} ({Name})";
}

/// <summary>The state a device and its variant views share.</summary>
internal sealed class DeviceCore
{
    public DeviceKind Kind { get; init; }
    public string Name { get; init; } = "";
    public long MemoryBytes { get; init; }
    public int ComputeUnits { get; init; }
    public Accelerator? Accelerator { get; init; }
    public BufferPool Pool { get; }
    public KernelCache Kernels { get; } = new();

    public DeviceCore(Accelerator? accelerator)
    {
        Accelerator = accelerator;
        Pool = new BufferPool(accelerator);
    }
}
