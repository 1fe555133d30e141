using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace SamEngine.Engine;

/// <summary>What `sam devices` prints about one device, present or not usable.</summary>
/// <param name="Kind">Its kind, the name `--device` takes.</param>
/// <param name="Name">What the hardware calls itself.</param>
/// <param name="MemoryBytes">Its memory.</param>
/// <param name="ComputeUnits">Cores or multiprocessors.</param>
/// <param name="Usable">Whether SamEngine can run on it.</param>
/// <param name="Note">Why not, or what to know.</param>
/// <param name="OnHostCores">It computes on this machine's CPU cores (cpu, ilgpu-cpu, a CPU-type OpenCL device): auto picks none but cpu.</param>
internal sealed record DeviceInfo(DeviceKind Kind, string Name, long MemoryBytes, int ComputeUnits, bool Usable, string Note, bool OnHostCores = false);

/// <summary>
/// Finds devices and opens the one asked for: by name (`--device`, env SAM_DEVICE) or
/// automatically, cuda before an OpenCL GPU before the native cpu path. ilgpu-cpu is never picked
/// automatically: it is a kernel emulator, not a place to run models fast; nor is an OpenCL
/// device that is a CPU (PoCL, Intel's CPU runtime): the native path runs 25–30× faster there.
/// </summary>
internal static class Devices
{
    public const string EnvironmentVariable = "SAM_DEVICE";

    static readonly object gate = new();
    static Context? context;
    static readonly Dictionary<DeviceKind, Device> opened = new();

    static Context Context
    {
        get
        {
            lock (gate)
            {
                // Profiling on: launches can be timed with device events. OpenCL listed in full so
                // that unusable devices can be reported rather than silently missing.
                return context ??= Context.Create(b => b
                    .CPU(CPUDevice.Default)
                    .Cuda()
                    .OpenCL(_ => true)
                    .Profiling()
                    .EnableAlgorithms());
            }
        }
    }

    /// <summary>Every device this machine has, usable or not, with why not.</summary>
    public static IReadOnlyList<DeviceInfo> List()
    {
        var list = new List<DeviceInfo>
        {
            new(DeviceKind.Cpu, CpuName(), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, Environment.ProcessorCount, true,
                "native C# (System.Runtime.Intrinsics)", OnHostCores: true),
        };
        Context ctx;
        try { ctx = Context; }
        catch (Exception e) { return [.. list, new(DeviceKind.IlgpuCpu, "ILGPU", 0, 0, false, "ILGPU failed to start: " + e.Message)]; }

        foreach (var d in Of(ctx.GetCPUDevices()))
            list.Add(new(DeviceKind.IlgpuCpu, "ILGPU CPU accelerator", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
                d.NumMultiprocessors, true, "GPU emulator for testing kernels (slow)", OnHostCores: true));
        foreach (var d in Of(ctx.GetCudaDevices()))
            list.Add(new(DeviceKind.Cuda, d.Name, d.MemorySize, d.NumMultiprocessors, true, $"sm_{d.Architecture?.Major}{d.Architecture?.Minor}"));
        foreach (var d in Of(ctx.GetCLDevices()))
        {
            bool usable = d.Capabilities.GenericAddressSpace;
            list.Add(new(DeviceKind.OpenCL, d.Name, d.MemorySize, d.NumMultiprocessors, usable,
                !usable ? $"{d.CLStdVersion}: no generic address space (OpenCL C 2.0+), which ILGPU requires"
                : IsCpu(d) ? $"{d.CLStdVersion}, a CPU device: auto prefers the native cpu path, 25–30× faster on the same cores"
                : $"{d.CLStdVersion}", OnHostCores: IsCpu(d)));
        }
        if (Of(ctx.GetCudaDevices()).Count == 0) list.Add(new(DeviceKind.Cuda, "-", 0, 0, false, "no CUDA driver or GPU found"));
        if (Of(ctx.GetCLDevices()).Count == 0) list.Add(new(DeviceKind.OpenCL, "-", 0, 0, false, "no OpenCL platform found (ILGPU looks for libOpenCL.so)"));
        return list;
    }

    /// <summary>
    /// Opens a device by name ("cpu", "ilgpu-cpu", "cuda", "opencl", "auto"); null means the
    /// env var, then auto. Throws <see cref="SamException"/> naming what is missing.
    /// </summary>
    public static Device Open(string? requested = null)
    {
        requested ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(requested) || requested.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            if (TryOpen(DeviceKind.Cuda, out var cuda)) return cuda;
            if (HasOpenClGpu() && TryOpen(DeviceKind.OpenCL, out var opencl)) return opencl;
            return Open(DeviceKind.Cpu);
        }
        if (!DeviceKindNames.TryParse(requested.Trim(), out var k))
            throw new SamException($"unknown device '{requested}': choose auto, cpu, ilgpu-cpu, cuda or opencl");
        return Open(k);
    }

    public static Device Open(DeviceKind kind)
    {
        if (TryOpen(kind, out var device)) return device;
        var why = List().Where(i => i.Kind == kind).Select(i => i.Note).FirstOrDefault() ?? "not present";
        throw new SamException($"device '{kind.Name()}' is not available here: {why}");
    }

    public static bool TryOpen(DeviceKind kind, out Device device)
    {
        lock (gate)
        {
            if (opened.TryGetValue(kind, out device!)) return true;
            var core = CreateCore(kind);
            if (core == null) return false;
            var variant = kind is DeviceKind.Cuda or DeviceKind.OpenCL ? KernelVariant.Tuned : KernelVariant.Portable;
            device = new Device(core, variant);
            opened[kind] = device;
            return true;
        }
    }

    static DeviceCore? CreateCore(DeviceKind kind)
    {
        if (kind == DeviceKind.Cpu)
            return new DeviceCore(null)
            {
                Kind = kind,
                Name = CpuName(),
                MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
                ComputeUnits = Environment.ProcessorCount,
            };

        Context ctx;
        try { ctx = Context; }
        catch (Exception) { return null; }
        ILGPU.Runtime.Device? d = kind switch
        {
            DeviceKind.IlgpuCpu => Of(ctx.GetCPUDevices()).FirstOrDefault(),
            DeviceKind.Cuda => Of(ctx.GetCudaDevices()).FirstOrDefault(),
            DeviceKind.OpenCL => Of(ctx.GetCLDevices()).Where(c => c.Capabilities.GenericAddressSpace).OrderBy(IsCpu).FirstOrDefault(),
            _ => null,
        };
        if (d == null) return null;
        var accelerator = d.CreateAccelerator(ctx);
        return new DeviceCore(accelerator)
        {
            Kind = kind,
            Name = kind == DeviceKind.IlgpuCpu ? "ILGPU CPU accelerator" : d.Name,
            MemoryBytes = accelerator.MemorySize,
            ComputeUnits = accelerator.NumMultiprocessors,
        };
    }

    static bool IsCpu(CLDevice d) => d.DeviceType.HasFlag(CLDeviceType.CL_DEVICE_TYPE_CPU);

    /// <summary>Whether a usable OpenCL device is not a CPU (what `opencl` opens: GPUs before CPUs).</summary>
    static bool HasOpenClGpu()
    {
        try { return Of(Context.GetCLDevices()).Any(d => d.Capabilities.GenericAddressSpace && !IsCpu(d)); }
        catch (Exception) { return false; }
    }

    /// <summary>The ILGPU context, for code generation without a device (kernel emission).</summary>
    public static Context SharedContext => Context;

    static List<T> Of<T>(Context.DeviceCollection<T> devices) where T : ILGPU.Runtime.Device
    {
        var list = new List<T>();
        foreach (var d in devices) list.Add(d);
        return list;
    }

    static string CpuName()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"));
            if (line != null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }
}
