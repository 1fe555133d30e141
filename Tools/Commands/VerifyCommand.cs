using System.CommandLine;
using System.Globalization;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam verify --model M --fixtures DIR [--image FILE] [--stages encoder,prompts,amg]`:
/// preprocessing, patch embedding, every encoder block and the embedding of each fixture image,
/// every prompt case from the image's reference embedding, and the automatic mask generator,
/// against the float64 reference, each held to twice PyTorch float32's own error on that stage.
/// With --image the pipeline starts from the file (one image), and its decoding must equal the
/// fixture's pixels byte for byte. `sam verify --image FILE --pixels REF.npy` checks the decoding
/// alone against a reference decoder's pixels.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Checkpoint the fixtures were made with (.pth or .safetensors)." };
        var fixtures = new Option<string?>("--fixtures") { Description = "Fixture folder (meta.json, errors.json, <image>/...), e.g. ../shared/fixtures/sam-mini." };
        var image = new Option<string?>("--image") { Description = "Start from this image file (its fixture folder is named after it, e.g. truck/ for truck.jpg)." };
        var pixels = new Option<string?>("--pixels") { Description = "The image's reference pixels (uint8 H×W×3 RGB .npy, e.g. cv2.imread's); default: the fixture folder's image_rgb.npy." };
        var stages = new Option<string?>("--stages") { Description = $"Comma-separated: {string.Join(", ", Stages)} (default all the fixture has)." };
        var device = Cli.DeviceOption();
        var cmd = new Command("verify", "Check decoding, the encoder, the prompt cases and AMG against reference fixtures.") { model, fixtures, image, pixels, stages, device };
        cmd.SetAction(p => Cli.Guard(() => Run(p.GetValue(model), p.GetValue(fixtures), p.GetValue(image), p.GetValue(pixels),
            p.GetValue(stages)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), p.GetValue(device))));
        return cmd;
    }

    static readonly string[] Stages = ["encoder", "prompts", "amg"];

    static int Run(string? modelPath, string? fixtures, string? imagePath, string? pixels, string[]? stages, string? deviceName)
    {
        if (stages?.FirstOrDefault(s => !Stages.Contains(s)) is { } unknown)
            throw new SamException($"--stages: unknown stage '{unknown}' (stages: {string.Join(", ", Stages)})");
        bool Runs(string stage) => stages == null || stages.Contains(stage);
        if (fixtures != null && !Directory.Exists(fixtures)) throw new SamException($"--fixtures {fixtures}: folder not found");
        if (imagePath != null && pixels == null && fixtures != null)
            pixels = FixtureFolder.ArrayPath(fixtures, Path.GetFileNameWithoutExtension(imagePath), "image_rgb.npy");
        if (pixels != null && !File.Exists(pixels)) throw new SamException($"--pixels {pixels}: file not found");
        if (modelPath == null)
        {
            if (imagePath == null || pixels == null)
                throw new SamException("give --model and --fixtures (the encoder, optionally from --image), or --image with --pixels or --fixtures (the decoding alone)");
            return VerifyDecode(imagePath, pixels);
        }
        if (fixtures == null) throw new SamException("--model needs --fixtures: the folder of reference outputs to compare with");
        var folder = FixtureFolder.Open(fixtures);
        string? only = imagePath != null ? Path.GetFileNameWithoutExtension(imagePath) : null;
        if (only != null && !folder.Images.Contains(only))
            throw new SamException($"--image {imagePath}: the fixtures' meta.json has no image '{only}' (it has {string.Join(", ", folder.Images)})");

        var device = Devices.Open(deviceName);
        using var predictor = new SamPredictor(StateDict.Load(modelPath), device);
        Console.WriteLine($"{Path.GetFileName(modelPath)}: {predictor.Encoder.Config} on {device}");

        IEnumerable<StageCheck> All()
        {
            Action<string, TimeSpan> encoded = (image, time) => Console.Error.WriteLine($"{image}: encoder {time.TotalSeconds:F2} s");
            if (Runs("encoder"))
            {
                var encoder = imagePath != null
                    ? EncoderVerification.RunFromFile(predictor.Encoder, fixtures, imagePath, pixels, encoded)
                    : EncoderVerification.Run(predictor.Encoder, fixtures, encoded: encoded);
                foreach (var c in encoder) yield return c;
            }
            if (Runs("prompts"))
                foreach (var c in PromptVerification.Run(predictor, folder, only != null ? [only] : null)) yield return c;
            if (Runs("amg"))
                foreach (var image in AmgVerification.Images(folder).Where(i => only == null || i == only))
                {
                    var rgb = imagePath != null ? ImageLoader.Load(imagePath) : RgbImage.FromNpy(Npy.Read(FixtureFolder.ArrayPath(folder.Path, image, "image_rgb.npy")));
                    var result = AmgVerification.Generate(predictor, folder, image, rgb);
                    Console.Error.WriteLine($"{image}: amg {result.Timings.Encoder.TotalSeconds + result.Timings.Decoder.TotalSeconds + result.Timings.Postprocess.TotalSeconds:F2} s");
                    foreach (var c in AmgVerification.Compare(result, folder, image)) yield return c;
                }
        }
        var table = new Table().AddColumns("image", "stage", "max abs err", "rel-L2", "PyTorch fp32 rel-L2", "ratio", "pass");
        var checks = new List<StageCheck>();
        foreach (var c in All())
        {
            checks.Add(c);
            table.AddRow(c.Image, c.Stage, Num(c.MaxAbs), Num(c.RelL2), c.Exact ? "exact" : c.TorchRelL2 is { } t ? Num(t) : c.Verdict != null ? "see below" : "-",
                c.Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-", c.Pass ? "[green]pass[/]" : "[red]FAIL[/]");
        }
        AnsiConsole.Write(table);
        foreach (var c in checks.Where(c => c.Detail != null)) Console.WriteLine($"{c.Image} {c.Stage}: {c.Detail}");
        int failed = checks.Count(c => !c.Pass);
        var exact = checks.Where(c => c.Exact).Select(c => c.Stage).Distinct().ToArray();
        Console.WriteLine(failed == 0
            ? $"all {checks.Count} stages within {StageCheck.Bound}× PyTorch float32's error" + (exact.Length > 0 ? $" ({string.Join(", ", exact)} exact)" : "")
            : $"{failed} of {checks.Count} stages out of bounds");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The decoding alone: exit 0 when every byte equals the reference, 1 naming the first that does not.</summary>
    static int VerifyDecode(string imagePath, string pixels)
    {
        var image = ImageLoader.Load(imagePath);
        var comparison = PixelComparison.Compare(image, Npy.Read(pixels));
        Console.WriteLine($"{imagePath}: {image.Width}×{image.Height}, against {pixels}: {comparison}");
        return comparison.Equal ? 0 : 1;
    }

    static string Num(double v) => double.IsNaN(v) ? "NaN" : v.ToString("0.00e+0", CultureInfo.InvariantCulture);
}
