using System.CommandLine;
using System.Diagnostics;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;
using Spectre.Console;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam amg`: automatic mask generation on an image or a folder of images, with scripts/amg.py's
/// options and outputs. A folder is a batch: a progress bar, images whose outputs are already
/// complete skipped (so an interrupted run resumes), each image's outputs written atomically,
/// --shard i/N for splitting a corpus across processes, and unreadable images reported and
/// skipped, the exit code saying that some failed.
/// </summary>
internal static class AmgCommand
{
    /// <summary>The files a folder input offers, by extension (what <see cref="ImageLoader"/> decodes).</summary>
    const string RandomPrefix = "random:";

    static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tga"];

    public static Command Create()
    {
        var defaults = new AmgOptions();
        var model = new Option<string>("--model") { Description = "SAM checkpoint (.pth or .safetensors), or random:vit_b|vit_l|vit_h|mobile_sam for seeded random weights (timing only).", Required = true };
        var input = new Option<string>("--input") { Description = "An image, or a folder of images (its files, not subfolders).", Required = true };
        var output = new Option<string>("--output") { Description = "Output folder: per image a folder of mask PNGs with metadata.csv, or <name>.json with --convert-to-rle; plus an overlay.", Required = true };
        var convertToRle = new Option<bool>("--convert-to-rle") { Description = "Write each image's masks as COCO RLE in one <name>.json instead of PNGs." };
        var pointsPerSide = new Option<int>("--points-per-side") { Description = "Point prompts per side of the grid over the image, 1–512 (at most 512² prompts over all crops).", DefaultValueFactory = _ => defaults.PointsPerSide!.Value };
        var pointsPerBatch = new Option<int>("--points-per-batch") { Description = "Point prompts per decoder pass (memory against speed), 1–1024.", DefaultValueFactory = _ => defaults.PointsPerBatch };
        var predIouThresh = new Option<double>("--pred-iou-thresh") { Description = "Drop masks whose predicted IoU is not above this, 0–1.", DefaultValueFactory = _ => defaults.PredIouThresh };
        var stabilityThresh = new Option<double>("--stability-score-thresh") { Description = "Drop masks whose stability score is below this, 0–1.", DefaultValueFactory = _ => defaults.StabilityScoreThresh };
        var stabilityOffset = new Option<double>("--stability-score-offset") { Description = "Logit offset of the stability score's two thresholds, −100–100.", DefaultValueFactory = _ => defaults.StabilityScoreOffset };
        var boxNmsThresh = new Option<double>("--box-nms-thresh") { Description = "Box IoU above which a duplicate mask within a crop is dropped, 0–1.", DefaultValueFactory = _ => defaults.BoxNmsThresh };
        var cropNLayers = new Option<int>("--crop-n-layers") { Description = "Layers of crops (layer i has 2^i × 2^i crops) run after the whole image, 0–4.", DefaultValueFactory = _ => defaults.CropNLayers };
        var cropNmsThresh = new Option<double>("--crop-nms-thresh") { Description = "Box IoU above which a duplicate mask across crops is dropped, 0–1.", DefaultValueFactory = _ => defaults.CropNmsThresh };
        var cropOverlapRatio = new Option<double>("--crop-overlap-ratio") { Description = "Overlap of the first crop layer's crops, as a fraction of the image's short side, in [0, 1).", DefaultValueFactory = _ => defaults.CropOverlapRatio };
        var cropDownscale = new Option<int>("--crop-n-points-downscale-factor") { Description = "Points per side in crop layer i are divided by this to the power i, 1–64.", DefaultValueFactory = _ => defaults.CropNPointsDownscaleFactor };
        var minRegionArea = new Option<int>("--min-mask-region-area") { Description = "Remove holes and islands smaller than this many pixels (0: off), up to 16384².", DefaultValueFactory = _ => defaults.MinMaskRegionArea };
        var shard = new Option<string?>("--shard") { Description = "i/N: process only shard i (from 0) of N (1–1,000,000) of the sorted image list." };
        var device = Cli.DeviceOption();
        var cmd = new Command("amg", "Automatic mask generation: segment everything in images (scripts/amg.py).")
        {
            model, input, output, convertToRle, pointsPerSide, pointsPerBatch, predIouThresh, stabilityThresh, stabilityOffset,
            boxNmsThresh, cropNLayers, cropNmsThresh, cropOverlapRatio, cropDownscale, minRegionArea, shard, device,
        };
        cmd.SetAction(p => Cli.Guard(() =>
        {
            bool rle = p.GetValue(convertToRle);
            var options = new AmgOptions
            {
                PointsPerSide = p.GetValue(pointsPerSide),
                PointsPerBatch = p.GetValue(pointsPerBatch),
                PredIouThresh = p.GetValue(predIouThresh),
                StabilityScoreThresh = p.GetValue(stabilityThresh),
                StabilityScoreOffset = p.GetValue(stabilityOffset),
                BoxNmsThresh = p.GetValue(boxNmsThresh),
                CropNLayers = p.GetValue(cropNLayers),
                CropNmsThresh = p.GetValue(cropNmsThresh),
                CropOverlapRatio = p.GetValue(cropOverlapRatio),
                CropNPointsDownscaleFactor = p.GetValue(cropDownscale),
                MinMaskRegionArea = p.GetValue(minRegionArea),
                // Folder output decodes each mask while writing its PNG, so no mode needs all masks decoded at once.
                OutputMode = rle ? AmgOutputMode.CocoRle : AmgOutputMode.UncompressedRle,
            };
            var shardText = p.GetValue(shard);
            return Run(p.GetValue(model)!, p.GetValue(input)!, p.GetValue(output)!, rle, options,
                shardText == null ? AmgShard.All : AmgShard.Parse(shardText), p.GetValue(device));
        }));
        return cmd;
    }

    sealed record Job(string Path, string Name, string? Clash);

    static int Run(string modelPath, string input, string outputDir, bool rle, AmgOptions options, AmgShard shard, string? deviceName)
    {
        options.LayerPointGrids();   // bad options fail before the model loads
        bool batch = Directory.Exists(input);
        if (!batch && !File.Exists(input)) throw new SamException($"--input {input}: no such image or folder");
        if (File.Exists(outputDir)) throw new SamException($"--output {outputDir} is a file, not a folder");

        // The shard is taken of every image, so each is one shard's (and a name clash is reported once).
        var all = new List<Job>();
        foreach (var path in batch ? ListImages(input) : [input])
        {
            var name = Path.GetFileNameWithoutExtension(path);
            // Two inputs that differ only in extension would write the same outputs: the first (sorted) wins.
            var earlier = all.FirstOrDefault(j => j.Name == name && j.Clash == null);
            all.Add(new Job(path, name, earlier == null ? null : $"{path}: its outputs would be those of {earlier.Path} (same name without extension); skipped"));
        }
        var mine = shard.Select(all).ToList();
        var failures = mine.Where(j => j.Clash != null).Select(j => j.Clash!).ToList();
        mine.RemoveAll(j => j.Clash != null);

        bool created = !Directory.Exists(outputDir);
        try { Directory.CreateDirectory(outputDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new SamException($"--output {outputDir}: cannot create ({e.Message})"); }
        try { return Generate(modelPath, outputDir, rle, options, shard, deviceName, batch, all, mine, failures); }
        finally
        {
            // A run that wrote nothing leaves no folder behind.
            if (created && Directory.Exists(outputDir) && !Directory.EnumerateFileSystemEntries(outputDir).Any()) Directory.Delete(outputDir);
        }
    }

    static int Generate(string modelPath, string outputDir, bool rle, AmgOptions options, AmgShard shard, string? deviceName, bool batch,
        List<Job> all, List<Job> mine, List<string> failures)
    {
        // Leftovers of an interrupted run (temporary files of processes that no longer run) go first.
        TempNames.RemoveStale(outputDir);
        var output = new AmgOutput(Path.GetFullPath(outputDir), rle);
        // A single image is always redone; in a batch, complete outputs are a previous run's work.
        var todo = batch ? mine.Where(j => !output.IsComplete(j.Name)).ToList() : mine;
        int skipped = mine.Count - todo.Count;

        // random:vit_b (or vit_l, vit_h): seeded random weights of that architecture, for timing without a checkpoint.
        var weights = modelPath.StartsWith(RandomPrefix, StringComparison.Ordinal)
            ? RandomWeights.Create(SamArchitecture.Parse(modelPath[RandomPrefix.Length..]))
            : StateDict.Load(modelPath);
        var dev = Devices.Open(deviceName);
        using var predictor = new SamPredictor(weights, dev);
        var generator = new SamAutomaticMaskGenerator(predictor, options);
        var clock = Stopwatch.StartNew();
        var totals = new Totals();

        void Process(Job job, Action<string> report)
        {
            try
            {
                var image = ImageLoader.Load(job.Path);
                var result = generator.Generate(image);
                output.Write(job.Name, image, result);
                totals.Add(result);
            }
            catch (SamException e)
            {
                failures.Add(e.Message);
                report(e.Message);
            }
        }

        if (batch && todo.Count > 0)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Describe(0, todo.Count, 0), maxValue: todo.Count);
                    foreach (var job in todo)
                    {
                        Process(job, message => AnsiConsole.MarkupLine($"[red]failed:[/] {Markup.Escape(message)}"));
                        task.Increment(1);
                        task.Description = Describe((int)task.Value, todo.Count, totals.Masks);
                    }
                });
        }
        else
            foreach (var job in todo) Process(job, _ => { });

        var t = totals;
        Console.WriteLine($"{t.Images} image(s), {t.Masks} masks in {clock.Elapsed.TotalSeconds:F1} s on {dev.Kind.Name()}"
            + (t.Images > 0 ? $" (encoder {t.Encoder.TotalSeconds:F1} s, decoder {t.Decoder.TotalSeconds:F1} s, postprocess {t.Postprocess.TotalSeconds:F1} s)" : "")
            + (skipped > 0 ? $"; {skipped} already done" : "")
            + (shard.Count > 1 ? $"; shard {shard} of {all.Count} image(s)" : "")
            + $"; output {output.Folder}");
        if (failures.Count == 0) return 0;
        foreach (var f in failures) Console.Error.WriteLine($"sam: error: {f}");
        Console.Error.WriteLine($"sam: error: {failures.Count} image(s) failed");
        return 1;
    }

    static string Describe(int done, int total, long masks) => $"{done}/{total} images, {masks} masks";

    /// <summary>The folder's image files (not hidden ones), sorted by ordinal name so every process sees the same order.</summary>
    static List<string> ListImages(string folder)
    {
        try
        {
            return Directory.EnumerateFiles(folder)
                .Where(f => !Path.GetFileName(f).StartsWith('.') && ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SamException($"--input {folder}: cannot list ({e.Message})");
        }
    }

    sealed class Totals
    {
        public int Images;
        public long Masks;
        public TimeSpan Encoder, Decoder, Postprocess;

        public void Add(AmgResult r)
        {
            Images++;
            Masks += r.Masks.Count;
            Encoder += r.Timings.Encoder;
            Decoder += r.Timings.Decoder;
            Postprocess += r.Timings.Postprocess;
        }
    }
}
