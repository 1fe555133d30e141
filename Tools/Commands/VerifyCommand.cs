using System.CommandLine;
using System.Globalization;
using SamEngine.Engine;
using SamEngine.Model;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam verify --model M --fixtures DIR`: preprocessing, patch embedding, every encoder block
/// and the embedding of each fixture image against the float64 reference, each held to twice
/// PyTorch float32's own error on that stage. What a kernel researcher runs after touching a kernel.
/// </summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint the fixtures were made with (.pth or .safetensors).", Required = true };
        var fixtures = new Option<string>("--fixtures") { Description = "Fixture folder (meta.json, errors.json, <image>/...), e.g. ../shared/fixtures/sam-mini.", Required = true };
        var device = Cli.DeviceOption();
        var cmd = new Command("verify", "Check the encoder stage by stage against float64 reference fixtures.") { model, fixtures, device };
        cmd.SetAction(p => Cli.Guard(() => Run(p.GetValue(model)!, p.GetValue(fixtures)!, p.GetValue(device))));
        return cmd;
    }

    static int Run(string modelPath, string fixtures, string? deviceName)
    {
        if (!Directory.Exists(fixtures)) throw new SamException($"{fixtures}: fixture folder not found");
        var device = Devices.Open(deviceName);
        using var encoder = SamImageEncoder.Load(modelPath, device);
        Console.WriteLine($"{Path.GetFileName(modelPath)}: {encoder.Config} on {device}");

        var table = new Table().AddColumns("image", "stage", "max abs err", "rel-L2", "PyTorch fp32 rel-L2", "ratio", "pass");
        var checks = new List<StageCheck>();
        foreach (var c in EncoderVerification.Run(encoder, fixtures, encoded:
            (image, time) => Console.Error.WriteLine($"{image}: encoder {time.TotalSeconds:F2} s")))
        {
            checks.Add(c);
            table.AddRow(c.Image, c.Stage, Num(c.MaxAbs), Num(c.RelL2), c.Exact ? "exact" : c.TorchRelL2 is { } t ? Num(t) : "-",
                c.Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-", c.Pass ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        AnsiConsole.Write(table);
        int failed = checks.Count(c => !c.Pass);
        Console.WriteLine(failed == 0
            ? $"all {checks.Count} stages within {StageCheck.Bound}× PyTorch float32's error (resize exact)"
            : $"{failed} of {checks.Count} stages out of bounds");
        return failed == 0 ? 0 : 1;
    }

    static string Num(double v) => double.IsNaN(v) ? "NaN" : v.ToString("0.00e+0", CultureInfo.InvariantCulture);
}
