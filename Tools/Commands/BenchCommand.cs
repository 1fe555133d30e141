using System.CommandLine;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Tools.Bench;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam bench --arch vit_b|vit_l|vit_h|mobile_sam|mini | --model M [--device D] [--repeat N] [--json]
/// [--profile] [--trace out.json]`: stage timings (median of N after a warm-up), the top
/// kernels with GFLOP/s and % of the measured FMA peak, and the encoder's memory beyond the
/// weights. See <see cref="SamBench"/>.
/// </summary>
internal static class BenchCommand
{
    public static Command Create() => Build("bench",
        "Time the encoder, the prompt decoder (1 and 64 prompts), AMG (default filters, and filters off) and image decoding beside Pillow, with the top kernels.", repeatDefault: 3, profileDefault: false, traceDefault: null);

    /// <summary>The options and action shared with `sam profile`, which only changes the defaults.</summary>
    internal static Command Build(string name, string description, int repeatDefault, bool profileDefault, string? traceDefault)
    {
        var arch = new Option<string?>("--arch") { Description = "Official architecture with random weights: vit_b, vit_l, vit_h, mobile_sam (or mini, the fixtures' small model)." };
        var model = new Option<string?>("--model") { Description = "A checkpoint (.pth or .safetensors) instead of --arch." };
        var device = Cli.DeviceOption();
        var repeat = new Option<int>("--repeat") { Description = $"Timed runs per stage after one warm-up, 1–1000 (median reported; the decoders run at least 10 and 3). Default {repeatDefault}.", DefaultValueFactory = _ => repeatDefault };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var profile = new Option<bool>("--profile") { Description = "Every kernel of every stage, and the time per model stage." };
        var trace = new Option<string?>("--trace") { Description = "Write a Chrome trace (chrome://tracing, Perfetto) of every timed launch to this file." + (traceDefault != null ? $" Default {traceDefault}." : "") };
        var stages = new Option<string?>("--stages") { Description = $"Comma-separated stages to time: {string.Join(", ", SamBench.StageNames)} (default all; the decoders use a random embedding without the encoder)." };
        var image = new Option<string?>("--image") { Description = "The file the decode stage reads, timed beside Pillow (default: the image fixtures' large_photo.jpg)." };
        var clients = new Option<int>("--clients") { Description = "The serve stage's concurrent clients, 1–64.", DefaultValueFactory = _ => 4 };
        var clicks = new Option<int>("--clicks") { Description = "The serve stage's clicks per client, 1–10000.", DefaultValueFactory = _ => 25 };
        var cmd = new Command(name, description) { arch, model, device, repeat, stages, image, clients, clicks, json, profile, trace };
        cmd.SetAction(p => Cli.Guard(() => Run(new BenchOptions(p.GetValue(arch), p.GetValue(model), p.GetValue(device), p.GetValue(repeat))
            {
                Stages = p.GetValue(stages)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Image = p.GetValue(image),
                Clients = p.GetValue(clients), Clicks = p.GetValue(clicks),
            },
            p.GetValue(json), profileDefault || p.GetValue(profile), p.GetValue(trace) ?? traceDefault)));
        return cmd;
    }

    static int Run(BenchOptions options, bool json, bool profile, string? tracePath)
    {
        if (tracePath != null)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(tracePath))!;
            if (!Directory.Exists(folder)) throw new SamException($"--trace {tracePath}: folder {folder} does not exist");
            OutputStamp.CheckMayWrite(tracePath);
        }
        var report = SamBench.Run(options, message => Console.Error.WriteLine($"bench: {message}"));
        if (tracePath != null)
        {
            AtomicFile.Write(tracePath, stream => ProfileReport.WriteChromeTrace(report.Trace, stream));
            OutputStamp.StampFiles("sam bench", tracePath);
        }
        if (json) Console.WriteLine(BenchOutput.Json(report));
        else BenchOutput.WriteText(report, profile);
        if (tracePath != null) Console.Error.WriteLine($"bench: wrote {report.Trace.Count} launches to {tracePath}");
        return 0;
    }
}
