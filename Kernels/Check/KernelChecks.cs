using System.Reflection;
using SamEngine.Engine;

namespace SamEngine.Kernels.Check;

/// <summary>The whole sweep: every op's cases on a device, for each kernel family it runs.</summary>
internal static class KernelChecks
{
    public static IReadOnlyList<ICheckSuite> Suites { get; } = typeof(KernelChecks).Assembly.GetTypes()
        .Where(t => typeof(ICheckSuite).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .Select(t => (ICheckSuite)Activator.CreateInstance(t)!)
        .ToList();

    /// <summary>The device views to check: the native path on cpu, both kernel families elsewhere.</summary>
    public static IEnumerable<Device> Variants(Device device) => device.IsIlgpu
        ? [device.WithVariant(KernelVariant.Tuned), device.WithVariant(KernelVariant.Portable)]
        : [device];

    public static string VariantName(Device device) => device.IsIlgpu ? device.Variant.ToString().ToLowerInvariant() : "native";

    public static IEnumerable<(Device Device, KernelCheck Check)> All(Device device) =>
        from v in Variants(device)
        from suite in Suites
        from c in suite.Cases(v)
        select (v, c);

    public static CheckResult Run(Device device, KernelCheck check)
    {
        try
        {
            var cmp = check.Run(device);
            return new CheckResult(device.Kind.Name(), VariantName(device), check.Kernel, check.Shape,
                cmp.MaxAbsErr, cmp.RelErr, check.Tolerance, cmp.Within(check.Tolerance),
                cmp.NonFinite > 0 ? $"{cmp.NonFinite} non-finite values" : null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CheckResult(device.Kind.Name(), VariantName(device), check.Kernel, check.Shape,
                double.NaN, double.NaN, check.Tolerance, false, e.GetType().Name + ": " + e.Message);
        }
    }
}
