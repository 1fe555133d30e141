using System.Reflection;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace SamEngine.Engine;

/// <summary>One kernel entry point found by its <see cref="SamKernelAttribute"/>.</summary>
internal sealed record KernelEntry(string Name, MethodInfo Method, bool Grouped);

/// <summary>
/// Generates PTX and OpenCL C for every kernel without a GPU or driver: ILGPU's backends are
/// pure code generators. Lets kernel changes be diffed in review and compiled in CI.
/// </summary>
internal static class KernelEmitter
{
    public static IReadOnlyList<KernelEntry> Find(Assembly assembly) =>
        assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => (Method: m, Attr: m.GetCustomAttribute<SamKernelAttribute>()))
            .Where(x => x.Attr != null)
            .Select(x => new KernelEntry(x.Attr!.Name, x.Method, x.Attr.Grouped))
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>PTX for sm_80 (ILGPU clamps its PTX target there).</summary>
    public static string EmitPtx(KernelEntry kernel)
    {
        var ctx = Devices.SharedContext;
        using var backend = new PTXBackend(ctx, new CudaCapabilityContext(CudaArchitecture.SM_80),
            CudaArchitecture.SM_80, CudaInstructionSet.ISA_71, nvvmAPI: null);
        var compiled = (PTXCompiledKernel)backend.Compile(Describe(kernel), KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }

    /// <summary>OpenCL C 2.0 with every capability ILGPU can use (generic address space included).</summary>
    public static string EmitOpenCL(KernelEntry kernel)
    {
        var ctx = Devices.SharedContext;
        var caps = new CLCapabilityContext(true, true, true, true, true);
        using var backend = new CLBackend(ctx, caps, CLDeviceVendor.Other, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(Describe(kernel), KernelSpecialization.Empty);
        return compiled.Source;
    }

    static EntryPointDescription Describe(KernelEntry k) => k.Grouped
        ? EntryPointDescription.FromExplicitlyGroupedKernel(k.Method)
        : EntryPointDescription.FromImplicitlyGroupedKernel(k.Method);
}
