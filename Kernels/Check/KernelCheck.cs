using SamEngine.Engine;

namespace SamEngine.Kernels.Check;

/// <summary>
/// One kernel run at one shape, held to its float64 reference. Run launches the op on the
/// given device (outputs pre-filled with NaN so an unwritten element fails) and returns the
/// comparison.
/// </summary>
internal sealed record KernelCheck(string Kernel, string Shape, double Tolerance, Func<Device, Comparison> Run);

/// <summary>What `sam kernels --check` prints per row.</summary>
internal sealed record CheckResult(string Device, string Variant, string Kernel, string Shape,
    double MaxAbsErr, double RelErr, double Tolerance, bool Pass, string? Error);

/// <summary>
/// A family of checks for one op. Implementations are found by reflection, so adding an op's
/// checks needs no registry edit. Cases may depend on the device and variant: barrier-heavy
/// kernels get small shapes on ilgpu-cpu, where each barrier is an OS-thread sync.
/// </summary>
internal interface ICheckSuite
{
    IEnumerable<KernelCheck> Cases(Device device);
}
