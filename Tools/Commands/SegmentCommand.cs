using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam segment`: prompts (points, boxes, a previous low-res mask) on an image or a saved
/// embedding → masks.npy, iou_predictions.npy, low_res_logits.npy, overlay.png, result.json in
/// the output folder. The folder appears complete or not at all: everything is written to a
/// temporary sibling that is renamed at the end.
/// </summary>
internal static class SegmentCommand
{
    /// <summary>Each point is a token of the decoder's transformer; a batch of boxes is a batch of prompts, each with its own upscaled masks.</summary>
    const int MaxPoints = 256, MaxBoxes = 1024;

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "SAM checkpoint (.pth or .safetensors)." };
        var image = new Option<string?>("--image") { Description = "Image to segment (encoded first)." };
        var embedding = new Option<string?>("--embedding") { Description = "A saved embedding (from `sam embed`) instead of --image." };
        var point = new Option<string[]>("--point") { Description = "x,y[,label] in original-image pixels; label 1 foreground (default), 0 background. Repeatable, up to 256." };
        var box = new Option<string[]>("--box") { Description = "x0,y0,x1,y1 in original-image pixels. Repeat for a batch of up to 1024 boxes (no points then)." };
        var maskInput = new Option<string?>("--mask-input") { Description = "A previous run's low_res_logits.npy (256×256, leading 1s allowed) as the mask prompt." };
        var multimask = new Option<bool>("--multimask") { Description = "Three masks per prompt instead of one." };
        var logits = new Option<bool>("--logits") { Description = "masks.npy holds float32 logits instead of bool masks." };
        var outDir = new Option<string?>("--out-dir") { Description = "Output folder (created; a previous run's output there is replaced, anything else refused)." };
        var device = Cli.DeviceOption();
        var cmd = new Command("segment", "Masks from point, box and mask prompts.")
        {
            model, image, embedding, point, box, maskInput, multimask, logits, outDir, device,
        };
        cmd.SetAction(p => Cli.Guard(() => Run(new Request(
            p.GetValue(model), p.GetValue(image), p.GetValue(embedding), p.GetValue(point) ?? [], p.GetValue(box) ?? [],
            p.GetValue(maskInput), p.GetValue(multimask), p.GetValue(logits), p.GetValue(outDir), p.GetValue(device)))));
        return cmd;
    }

    sealed record Request(string? Model, string? Image, string? Embedding, string[] Points, string[] Boxes, string? MaskInput,
        bool Multimask, bool Logits, string? OutDir, string? Device);

    static int Run(Request r)
    {
        var total = Stopwatch.StartNew();
        if (r.Model == null) throw new SamException("segment: --model is required");
        if (r.OutDir == null) throw new SamException("segment: --out-dir is required");
        if ((r.Image == null) == (r.Embedding == null)) throw new SamException("segment: give exactly one of --image and --embedding");
        var points = r.Points.Select(ParsePoint).ToArray();
        var boxes = r.Boxes.Select(ParseBox).ToArray();
        if (points.Length == 0 && boxes.Length == 0 && r.MaskInput == null)
            throw new SamException("segment: no prompt: give --point, --box or --mask-input");
        if (points.Length > MaxPoints) throw new SamException($"segment: {points.Length} points; at most {MaxPoints} in one prompt");
        if (boxes.Length > MaxBoxes) throw new SamException($"segment: {boxes.Length} boxes; at most {MaxBoxes} in one batch");
        if (points.Length > 0 && boxes.Length > 1)
            throw new SamException("segment: points cannot be combined with several boxes (a batch of boxes takes no points, as in the reference)");
        var outDir = Path.GetFullPath(r.OutDir);
        OutputStamp.CheckMayReplace($"--out-dir {r.OutDir}", outDir);

        // Inputs first, so that bad prompts fail before the model is loaded.
        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        RgbImage? rgb = null;
        ImageEmbedding? saved = null;
        if (r.Image != null) rgb = ImageLoader.Load(r.Image);
        else saved = ImageEmbedding.Load(r.Embedding!);
        var original = rgb != null ? (rgb.Height, rgb.Width) : saved!.OriginalSize;
        foreach (var (x, y, label) in points) PromptValidation.Point(x, y, label, original);
        foreach (var b in boxes) PromptValidation.Box(b, original);
        float[]? mask = r.MaskInput != null ? ReadMaskInput(r.MaskInput) : null;
        timings["read_inputs_ms"] = Lap(clock);

        var weights = StateDict.Load(r.Model);
        var dev = Devices.Open(r.Device);
        using var predictor = new SamPredictor(weights, dev);
        timings["load_model_ms"] = Lap(clock);
        if (rgb != null)
        {
            predictor.SetImage(rgb);
            timings["encode_ms"] = Lap(clock);
        }
        else
        {
            try { predictor.SetEmbedding(saved!); }
            catch (SamException e) { throw new SamException($"{r.Embedding}: {e.Message}"); }
            timings["set_embedding_ms"] = Lap(clock);
        }

        bool batched = boxes.Length > 1;
        SamPrediction prediction;
        if (batched)
        {
            var boxArray = new float[boxes.Length, 4];
            for (int i = 0; i < boxes.Length; i++)
                for (int j = 0; j < 4; j++) boxArray[i, j] = boxes[i][j];
            prediction = predictor.PredictBatch(boxArray, maskInputs: mask, multimaskOutput: r.Multimask, returnLogits: r.Logits);
        }
        else
        {
            float[,]? coords = null;
            int[]? labels = null;
            if (points.Length > 0)
            {
                coords = new float[points.Length, 2];
                labels = new int[points.Length];
                for (int i = 0; i < points.Length; i++) (coords[i, 0], coords[i, 1], labels[i]) = points[i];
            }
            prediction = predictor.Predict(coords, labels, boxes.FirstOrDefault(), mask, r.Multimask, r.Logits);
        }
        timings["decoder_ms"] = prediction.DecoderTime.TotalMilliseconds;
        timings["postprocess_ms"] = prediction.PostprocessTime.TotalMilliseconds;
        clock.Restart();

        var promptBoxes = batched ? boxes : boxes.Length == 1 ? boxes : [];
        var overlay = MaskOverlay.Draw(rgb, prediction, points, promptBoxes);
        WriteAtomically(outDir, temp =>
        {
            var masksArray = prediction.Masks != null
                ? new NpyArray(prediction.Masks, prediction.MaskShape(batched))
                : new NpyArray(prediction.MaskLogits!, prediction.MaskShape(batched));
            Npy.Write(Path.Combine(temp, "masks.npy"), masksArray);
            Npy.Write(Path.Combine(temp, "iou_predictions.npy"), new NpyArray(prediction.IouPredictions, prediction.IouShape(batched)));
            Npy.Write(Path.Combine(temp, "low_res_logits.npy"), new NpyArray(prediction.LowResLogits, prediction.LowResShape(batched)));
            MaskOverlay.WritePng(overlay, Path.Combine(temp, "overlay.png"));
            timings["write_ms"] = Lap(clock);
            timings["total_ms"] = total.Elapsed.TotalMilliseconds;
            var result = Describe(r, dev, predictor, prediction, points, boxes, batched, timings);
            File.WriteAllText(Path.Combine(temp, "result.json"), JsonSerializer.Serialize(result,
                new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        });

        for (int b = 0; b < prediction.Batch; b++)
        {
            var scores = prediction.IouPredictions.Skip(b * prediction.MaskCount).Take(prediction.MaskCount);
            Console.WriteLine($"prompt {b}: predicted IoU {string.Join(", ", scores.Select(s => s.ToString("0.000", CultureInfo.InvariantCulture)))}");
        }
        Console.WriteLine($"decoder {prediction.DecoderTime.TotalMilliseconds:0.0} ms, postprocess {prediction.PostprocessTime.TotalMilliseconds:0.0} ms on {dev.Kind.Name()}; wrote {outDir}");
        return 0;
    }

    static object Describe(Request r, Device dev, SamPredictor predictor, SamPrediction p, (float X, float Y, int Label)[] points,
        float[][] boxes, bool batched, Dictionary<string, double> timings) => new Dictionary<string, object?>
    {
        ["model"] = r.Model,
        ["image"] = r.Image,
        ["embedding"] = r.Embedding,
        ["device"] = $"{dev.Kind.Name()} ({dev.Name})",
        ["original_size"] = new[] { predictor.OriginalSize.H, predictor.OriginalSize.W },
        ["input_size"] = new[] { predictor.InputSize.H, predictor.InputSize.W },
        ["prompt"] = new Dictionary<string, object?>
        {
            ["points"] = points.Select(q => new object[] { q.X, q.Y, q.Label }).ToArray(),
            ["boxes"] = boxes,
            ["mask_input"] = r.MaskInput,
            ["multimask_output"] = r.Multimask,
            ["return_logits"] = r.Logits,
        },
        ["masks"] = new Dictionary<string, object?>
        {
            ["shape"] = p.MaskShape(batched),
            ["dtype"] = p.Masks != null ? "bool" : "float32 logits",
            ["threshold"] = predictor.MaskThreshold,
        },
        ["iou_predictions"] = Enumerable.Range(0, p.Batch).Select(b => p.IouPredictions.Skip(b * p.MaskCount).Take(p.MaskCount).ToArray()).ToArray(),
        ["mask_areas"] = p.Masks == null ? null
            : Enumerable.Range(0, p.Batch * p.MaskCount).Select(i => p.Masks.AsSpan(i * p.Height * p.Width, p.Height * p.Width).Count(true)).ToArray(),
        ["overlay"] = "each prompt's mask with the highest predicted IoU",
        ["timings_ms"] = timings,
    };

    static double Lap(Stopwatch clock)
    {
        double ms = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        return ms;
    }

    static (float X, float Y, int Label) ParsePoint(string text)
    {
        var v = Numbers(text, "--point");
        if (v.Length is not (2 or 3)) throw new SamException($"--point '{text}': expected x,y or x,y,label");
        int label = 1;
        if (v.Length == 3)
        {
            if (v[2] != Math.Floor(v[2]) || double.IsInfinity(v[2])) throw new SamException($"--point '{text}': label {v[2]} is neither 1 (foreground) nor 0 (background)");
            label = v[2] is >= int.MinValue and <= int.MaxValue ? (int)v[2] : int.MaxValue;
        }
        return ((float)v[0], (float)v[1], label);
    }

    static float[] ParseBox(string text)
    {
        var v = Numbers(text, "--box");
        if (v.Length != 4) throw new SamException($"--box '{text}': expected x0,y0,x1,y1");
        return Array.ConvertAll(v, d => (float)d);
    }

    static double[] Numbers(string text, string option) => text.Split(',').Select(part =>
    {
        var s = part.Trim();
        if (s.Equals("nan", StringComparison.OrdinalIgnoreCase)) return double.NaN;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d : throw new SamException($"{option} '{text}': '{s}' is not a number");
    }).ToArray();

    static float[] ReadMaskInput(string path)
    {
        var array = Npy.Read(path);
        var core = array.Shape.SkipWhile(d => d == 1).ToArray();
        if (core.Length != 2 || core[0] != 256 || core[1] != 256)
            throw new SamException($"{path}: mask input has shape {array.ShapeText}; expected 256×256 low-res logits (leading 1s allowed), e.g. a single-mask run's low_res_logits.npy");
        if (array.DType is not (NpyDType.Float32 or NpyDType.Float64))
            throw new SamException($"{path}: mask input is {array.DType.Descr()}; expected float logits");
        var values = array.ToFloat();
        foreach (var v in values)
            if (!float.IsFinite(v)) throw new SamException($"{path}: mask input holds a value that is not a finite number");
        return values;
    }

    /// <summary>Writes into a fresh sibling folder, then swaps it in; on any failure nothing is left behind.</summary>
    static void WriteAtomically(string dir, Action<string> write)
    {
        var parent = Path.GetDirectoryName(dir) ?? throw new SamException($"--out-dir {dir} has no parent folder");
        if (!Directory.Exists(parent)) throw new SamException($"--out-dir {dir}: folder {parent} does not exist");
        AtomicFolder.Write(dir, $"--out-dir {dir}", "sam segment", write);
    }
}
