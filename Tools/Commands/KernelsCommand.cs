using System.CommandLine;
using System.Globalization;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Kernels.Check;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam kernels --check`: every op at a sweep of shapes against its float64 reference.
/// `sam kernels --emit ptx|opencl --out DIR`: the generated code of every kernel, no device needed.
/// `sam kernels --bench`: kernel throughput (see <see cref="KernelBench"/>).
/// </summary>
internal static class KernelsCommand
{
    public static Command Create()
    {
        var check = new Option<bool>("--check") { Description = "Run every kernel against its float64 reference and exit non-zero on any failure." };
        var emit = new Option<string?>("--emit") { Description = "Write generated code: ptx or opencl." };
        var outDir = new Option<string?>("--out") { Description = "Folder for --emit (created if missing)." };
        var filter = new Option<string?>("--filter") { Description = "Only kernels whose name contains this text." };
        var device = Cli.DeviceOption();
        var all = new Option<bool>("--all-devices") { Description = "With --check or --bench: every usable device, not just the chosen one." };
        var bench = new Option<bool>("--bench") { Description = "Time kernels (GEMM) per device and kernel family and print GFLOP/s." };

        var cmd = new Command("kernels", "Kernel regression checks and code generation.") { check, emit, outDir, filter, device, all, bench };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            var emitKind = p.GetValue(emit);
            if (emitKind != null) return Emit(emitKind, p.GetValue(outDir), p.GetValue(filter));
            if (p.GetValue(check)) return Check(p.GetValue(device), p.GetValue(all), p.GetValue(filter));
            if (p.GetValue(bench)) return KernelBench.Run(Chosen(p.GetValue(device), p.GetValue(all)), p.GetValue(filter));
            throw new SamException("kernels: give --check, --bench or --emit ptx|opencl --out DIR");
        }));
        return cmd;
    }

    static List<Device> Chosen(string? deviceName, bool allDevices) => allDevices
        ? Devices.List().Where(i => i.Usable).Select(i => i.Kind).Distinct().Select(Devices.Open).ToList()
        : [Devices.Open(deviceName)];

    static int Check(string? deviceName, bool allDevices, string? filter)
    {
        var devices = Chosen(deviceName, allDevices);
        var table = new Table().AddColumns("device", "variant", "kernel", "shape", "max abs err", "rel err", "tolerance", "pass");
        int failed = 0, total = 0;
        foreach (var d in devices)
        {
            foreach (var (view, c) in KernelChecks.All(d))
            {
                if (filter != null && !c.Kernel.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
                var r = KernelChecks.Run(view, c);
                total++;
                if (!r.Pass) failed++;
                table.AddRow(r.Device, r.Variant, r.Kernel, Markup.Escape(r.Shape), Num(r.MaxAbsErr), Num(r.RelErr), Num(r.Tolerance),
                    r.Pass ? "[green]pass[/]" : "[red]FAIL[/]" + (r.Error != null ? " " + Markup.Escape(r.Error) : ""));
            }
        }
        AnsiConsole.Write(table);
        Console.WriteLine($"{total - failed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    static string Num(double v) => double.IsNaN(v) ? "-" : v.ToString("0.00e+0", CultureInfo.InvariantCulture);

    static int Emit(string kind, string? outDir, string? filter)
    {
        if (outDir == null) throw new SamException("kernels --emit: --out DIR is required");
        Func<KernelEntry, string> generate;
        string extension;
        switch (kind.ToLowerInvariant())
        {
            case "ptx": generate = KernelEmitter.EmitPtx; extension = ".ptx"; break;
            case "opencl": case "cl": generate = KernelEmitter.EmitOpenCL; extension = ".cl"; break;
            default: throw new SamException($"kernels --emit: unknown target '{kind}': choose ptx or opencl");
        }
        int count = 0;
        AtomicFolder.Write(outDir, $"--out {outDir}", $"sam kernels --emit {kind}", folder =>
        {
            foreach (var k in KernelEmitter.Find(typeof(KernelChecks).Assembly))
            {
                if (filter != null && !k.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
                var code = generate(k);
                File.WriteAllText(Path.Combine(folder, k.Name + extension), code);
                Console.WriteLine($"{k.Name,-32} {code.Length,8} chars  {Path.Combine(outDir, k.Name + extension)}");
                count++;
            }
        });
        Console.WriteLine($"{count} kernels emitted as {kind}");
        return 0;
    }
}
