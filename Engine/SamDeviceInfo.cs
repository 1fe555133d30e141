namespace SamEngine;

/// <summary>One device of this machine, as <c>sam devices</c> lists it.</summary>
/// <param name="Device">The name to open it by: cpu, ilgpu-cpu, cuda or opencl.</param>
/// <param name="Name">What the hardware calls itself.</param>
/// <param name="MemoryBytes">Its memory (the machine's, for cpu).</param>
/// <param name="Usable">Whether it can run SamEngine here.</param>
/// <param name="Note">Why not, or what to know about it.</param>
public sealed record SamDeviceInfo(string Device, string Name, long MemoryBytes, bool Usable, string Note)
{
    internal static SamDeviceInfo From(Engine.DeviceInfo d) => new(Engine.DeviceKindNames.Name(d.Kind), d.Name, d.MemoryBytes, d.Usable, d.Note);
}
