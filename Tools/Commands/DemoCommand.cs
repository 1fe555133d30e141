using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam demo`: the whole pipeline in one command. With no arguments it needs nothing but a
/// clone: a procedurally drawn scene and a seeded random-weight ViT-B (masks meaningless, timings
/// real). Encodes once, prompts a point and a box from the same embedding, writes overlays and
/// prints where the time went.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Checkpoint (.pth or .safetensors). Default: random weights of --arch." };
        var arch = new Option<string>("--arch") { Description = "Architecture of the random model: vit_b, vit_l, vit_h or mobile_sam (MobileSAM's TinyViT encoder).", DefaultValueFactory = _ => "vit_b" };
        var image = new Option<string?>("--image") { Description = "Image to segment. Default: a drawn scene." };
        var point = new Option<string?>("--point") { Description = "Point prompt x,y in image pixels. Default: on the scene's house, or the image centre." };
        var box = new Option<string?>("--box") { Description = "Box prompt x0,y0,x1,y1. Default: around the scene's tree, or the image's central half." };
        var outDir = new Option<string>("--out-dir") { Description = "Where the overlays go.", DefaultValueFactory = _ => "demo-out" };
        var device = Cli.DeviceOption();
        var cmd = new Command("demo", "Run the whole pipeline (encode, point and box prompts) and show where the time goes.")
            { model, arch, image, point, box, outDir, device };
        cmd.SetAction(p => Cli.Guard(() => Run(p.GetValue(model), p.GetValue(arch)!, p.GetValue(image), p.GetValue(point), p.GetValue(box),
            p.GetValue(outDir)!, p.GetValue(device))));
        return cmd;
    }

    static int Run(string? modelPath, string archName, string? imagePath, string? pointText, string? boxText, string outDir, string? deviceName)
    {
        var clock = Stopwatch.StartNew();
        var rgb = imagePath != null ? ImageLoader.Load(imagePath) : new RgbImage(DemoScene.Height, DemoScene.Width, DemoScene.Draw());
        var (px, py) = pointText != null ? ParsePoint(pointText)
            : imagePath == null ? DemoScene.HousePoint : (rgb.Width / 2f, rgb.Height / 2f);
        float[] boxValues = boxText != null ? ParseBox(boxText)
            : imagePath == null ? [DemoScene.TreeBox.X0, DemoScene.TreeBox.Y0, DemoScene.TreeBox.X1, DemoScene.TreeBox.Y1]
            : [rgb.Width / 4f, rgb.Height / 4f, 3 * rgb.Width / 4f, 3 * rgb.Height / 4f];
        PromptValidation.Point(px, py, 1, (rgb.Height, rgb.Width));
        PromptValidation.Box(boxValues, (rgb.Height, rgb.Width));

        var dev = Devices.Open(deviceName);
        StateDict weights;
        if (modelPath != null)
        {
            weights = StateDict.Load(modelPath);
            AnsiConsole.MarkupLine($"model   [bold]{Markup.Escape(modelPath)}[/]");
        }
        else
        {
            var a = SamArchitecture.Parse(archName);
            weights = RandomWeights.Create(a, seed: 0);
            AnsiConsole.MarkupLine($"model   [bold]random {a.Name}[/] (seeded, official architecture) — " +
                "[yellow]its masks are meaningless; its timings are the real model's[/]. Pass --model for a real checkpoint.");
        }
        AnsiConsole.MarkupLine($"image   {Markup.Escape(imagePath ?? "drawn scene")} ({rgb.Width}×{rgb.Height})");
        AnsiConsole.MarkupLine($"device  [bold]{dev.Kind.Name()}[/] ({Markup.Escape(dev.Name)}, {dev.ComputeUnits} compute units)");

        using var predictor = new SamPredictor(weights, dev);
        var encoder = predictor.Encoder; // upload the weights outside the timed run
        double loadMs = Lap(clock);

        Profiler.Start();
        predictor.SetImage(rgb);
        double encodeMs = Lap(clock);
        var pointPrediction = predictor.Predict(new float[,] { { px, py } }, [1], multimaskOutput: true);
        double pointMs = Lap(clock);
        var boxPrediction = predictor.Predict(box: boxValues, multimaskOutput: false);
        double boxMs = Lap(clock);
        Profiler.Stop();
        var records = Profiler.Records;

        AtomicFolder.Write(outDir, $"--out {outDir}", "sam demo", folder =>
        {
            MaskOverlay.WritePng(rgb, Path.Combine(folder, "image.png"));
            MaskOverlay.WritePng(MaskOverlay.Draw(rgb, pointPrediction, [(px, py, 1)], []), Path.Combine(folder, "point.png"));
            MaskOverlay.WritePng(MaskOverlay.Draw(rgb, boxPrediction, [], [boxValues]), Path.Combine(folder, "box.png"));
        });

        var stages = new Table().Title("pipeline").AddColumns("step", "ms", "result");
        stages.AddRow("load + upload weights", F(loadMs), $"{weights.Tensors.Values.Sum(t => t.Length):N0} parameters");
        stages.AddRow("encode image", F(encodeMs), $"embedding {predictor.Config.OutChans}×{predictor.EmbeddingSize.H}×{predictor.EmbeddingSize.W}");
        stages.AddRow($"point ({px:0},{py:0}), multimask", F(pointMs), "IoU " + string.Join(", ", pointPrediction.IouPredictions.Select(v => v.ToString("0.000", CultureInfo.InvariantCulture))));
        stages.AddRow($"box ({string.Join(",", boxValues.Select(v => v.ToString("0", CultureInfo.InvariantCulture)))})", F(boxMs), "IoU " + boxPrediction.IouPredictions[0].ToString("0.000", CultureInfo.InvariantCulture));
        AnsiConsole.Write(stages);
        ProfileTables.Print(records);
        AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(Path.Combine(outDir, "point.png"))}[/], [bold]{Markup.Escape(Path.Combine(outDir, "box.png"))}[/] and image.png");
        return 0;
    }

    static double Lap(Stopwatch clock)
    {
        double ms = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        return ms;
    }

    static string F(double ms) => ms.ToString("0.0", CultureInfo.InvariantCulture);

    static (float, float) ParsePoint(string text)
    {
        var v = ParseNumbers(text, 2, "--point x,y");
        return (v[0], v[1]);
    }

    static float[] ParseBox(string text) => ParseNumbers(text, 4, "--box x0,y0,x1,y1");

    static float[] ParseNumbers(string text, int count, string what)
    {
        var parts = text.Split(',');
        var values = new float[parts.Length];
        if (parts.Length != count || parts.Where((s, i) => !float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])).Any())
            throw new SamException($"{what}: expected {count} comma-separated numbers, got '{text}'");
        return values;
    }
}
