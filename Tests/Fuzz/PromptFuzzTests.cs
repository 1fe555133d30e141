using System.Globalization;
using System.Text.RegularExpressions;
using SamEngine.Engine;
using SamEngine.Model;
using SamEngine.Tests.Weights;
using Xunit.Abstractions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// Prompt and option strings: <see cref="AmgShard.Parse"/> (and the shard's selection from a list),
/// <see cref="AmgOptions.LayerPointGrids"/> on options parsed from mutated strings as the CLI parses
/// them, <see cref="PromptValidation"/> on points and boxes parsed as `sam segment` parses them, and
/// a few hundred runs of `sam segment` and `sam amg` in process (<see cref="SamCli"/>) with mutated
/// --point/--box/--mask-input and option values. The CLI runs use a missing checkpoint, so an input
/// that passes every check ends in the one-line "no such file" error; exit code 2 or an unhandled
/// exception is the failure (SAM_DEBUG is set for these runs so that the CLI prints the stack).
/// </summary>
[Collection("fuzz")]
public sealed partial class PromptFuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly TempFolder tmp = new();
    int counter;

    public void Dispose() => tmp.Dispose();

    static FuzzInput Text(int seed, string seedName, string mutation, string text) =>
        new(seed, seedName, mutation, "input.txt", System.Text.Encoding.UTF8.GetBytes(text), text);

    static List<FuzzInput> TextSeeds(string[] seeds) => seeds.Select((s, i) => Text(i, s, "none", s)).ToList();

    // ---- AmgShard ----------------------------------------------------------------------------

    static readonly string[] ShardSeeds = ["0/1", "0/4", "3/4", " 2 / 8 ", "10/100", "0/1000000", "7/8", "5/16", "15/999999", "999999/1000000"];

    [Fact]
    public void AmgShardParse()
    {
        var files = Enumerable.Range(0, 16).Select(i => $"img{i:00}.png").ToList();
        var run = new FuzzRun("amg-shard", output);
        run.Run(TextSeeds(ShardSeeds), FuzzBudget.Share(0.05), r =>
        {
            int i = r.Next(ShardSeeds.Length);
            var (text, what) = Mutator.MutateTextOrBytes(r, ShardSeeds[i]);
            return Text(i, ShardSeeds[i], what, text);
        }, input =>
        {
            var shard = AmgShard.Parse(input.Text!);
            if (shard.Index < 0 || shard.Count < 1 || shard.Index >= shard.Count)
                throw new FuzzFailure("postcondition: invalid shard", $"parsed {shard.Index}/{shard.Count}", "(accepted by AmgShard.Parse)");
            // `sam amg` selects its images with it: a 16-image folder.
            var mine = shard.Select(files).ToList();
            if (mine.Count > files.Count || mine.Distinct().Count() != mine.Count)
                throw new FuzzFailure("postcondition: shard selection", $"{shard} selected {mine.Count} of {files.Count}", "(AmgShard.Select)");
        });
        run.AssertClean();
    }

    // ---- AmgOptions --------------------------------------------------------------------------

    /// <summary>`sam amg`'s numeric options with their defaults, as text.</summary>
    static readonly (string Option, string Default, bool IsInt)[] AmgOptionTexts =
    [
        ("--points-per-side", "32", true), ("--points-per-batch", "64", true), ("--pred-iou-thresh", "0.88", false),
        ("--stability-score-thresh", "0.95", false), ("--stability-score-offset", "1.0", false), ("--box-nms-thresh", "0.7", false),
        ("--crop-n-layers", "0", true), ("--crop-nms-thresh", "0.7", false), ("--crop-overlap-ratio", "0.3413333333333333", false),
        ("--crop-n-points-downscale-factor", "1", true), ("--min-mask-region-area", "0", true),
    ];

    /// <summary>One to three option values mutated (as text, or replaced by a boundary number).</summary>
    static (string[] Values, string What) MutateOptions(Random r)
    {
        var values = AmgOptionTexts.Select(o => o.Default).ToArray();
        var ops = new List<string>();
        for (int k = r.Next(1, 4); k > 0; k--)
        {
            int i = r.Next(values.Length);
            if (r.Next(3) == 0)
            {
                values[i] = Mutator.Numbers[r.Next(Mutator.Numbers.Length)];
                ops.Add($"{AmgOptionTexts[i].Option}={values[i]}");
            }
            else
            {
                var (text, what) = Mutator.MutateText(r, values[i]);
                values[i] = text;
                ops.Add($"{AmgOptionTexts[i].Option}: {what}");
            }
        }
        return (values, string.Join("; ", ops));
    }

    // As System.CommandLine parses int and double option values (invariant culture here).
    static bool ParseInt(string s, out int v) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v);
    static bool ParseDouble(string s, out double v) => double.TryParse(s, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out v);

    static readonly double[] GridCoordinates = [0, 0.5, 1, -0.0, 0.25, double.NaN, double.PositiveInfinity, 1.0000001, -1e-300, double.Epsilon, 0.999999];

    [Fact]
    public void AmgOptionsValidation()
    {
        var run = new FuzzRun("amg-options", output);
        var seeds = new List<FuzzInput> { Text(0, "defaults", "none", string.Join(" ", AmgOptionTexts.Select(o => $"{o.Option} {o.Default}"))) };
        run.Run(seeds, FuzzBudget.Share(0.04), r =>
        {
            var (values, what) = MutateOptions(r);
            var text = string.Join(" ", AmgOptionTexts.Select((o, i) => $"{o.Option} {values[i]}"));
            // Now and then explicit grids instead of points per side (the library's other way).
            if (r.Next(8) == 0)
            {
                var grids = Enumerable.Range(0, r.Next(4)).Select(_ =>
                    string.Join(" ", Enumerable.Range(0, r.Next(4)).Select(_ =>
                        $"{GridCoordinates[r.Next(GridCoordinates.Length)].ToString("R", CultureInfo.InvariantCulture)},{GridCoordinates[r.Next(GridCoordinates.Length)].ToString("R", CultureInfo.InvariantCulture)}")));
                text += " --grids " + string.Join(" | ", grids) + " |";
                what += "; explicit grids";
            }
            return Text(0, "defaults", what, text);
        }, input =>
        {
            var options = ParseOptions(input.Text!);
            var grids = options.LayerPointGrids();
            if (options.PointsPerSide != null ? grids.Length != options.CropNLayers + 1 : grids.Length < options.CropNLayers + 1)
                throw new FuzzFailure("postcondition: grid count", $"{grids.Length} grids for crop layers {options.CropNLayers}", "(accepted by AmgOptions.LayerPointGrids)");
            foreach (var g in grids)
                if (g.Length == 0 || g.Any(p => !(p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1)))
                    throw new FuzzFailure("postcondition: grid points", $"a grid of {g.Length} points, some outside [0,1]²", "(accepted by AmgOptions.LayerPointGrids)");
        });
        run.AssertClean();
    }

    /// <summary>The options text back to <see cref="AmgOptions"/>; a value the CLI could not parse is refused as it would be.</summary>
    static AmgOptions ParseOptions(string text)
    {
        var gridsAt = text.IndexOf(" --grids ", StringComparison.Ordinal);
        var optionPart = gridsAt < 0 ? text : text[..gridsAt];
        var values = new string[AmgOptionTexts.Length];
        for (int i = 0; i < AmgOptionTexts.Length; i++)
        {
            int start = optionPart.IndexOf(AmgOptionTexts[i].Option + " ", StringComparison.Ordinal) + AmgOptionTexts[i].Option.Length + 1;
            int end = i + 1 < AmgOptionTexts.Length ? optionPart.IndexOf(" " + AmgOptionTexts[i + 1].Option + " ", start, StringComparison.Ordinal) : optionPart.Length;
            values[i] = optionPart[start..end];
        }
        int I(int i) => ParseInt(values[i], out var v) ? v : throw new SamException($"{AmgOptionTexts[i].Option}: '{values[i]}' is not an integer");
        double D(int i) => ParseDouble(values[i], out var v) ? v : throw new SamException($"{AmgOptionTexts[i].Option}: '{values[i]}' is not a number");
        List<(double X, double Y)[]>? grids = null;
        if (gridsAt >= 0)
            grids = text[(gridsAt + 9)..].Split('|', StringSplitOptions.TrimEntries).SkipLast(1).Select(g =>
                g.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(','))
                    .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture))).ToArray()).ToList();
        return new AmgOptions
        {
            PointsPerSide = grids == null ? I(0) : null,
            PointGrids = grids,
            PointsPerBatch = I(1),
            PredIouThresh = D(2),
            StabilityScoreThresh = D(3),
            StabilityScoreOffset = D(4),
            BoxNmsThresh = D(5),
            CropNLayers = I(6),
            CropNmsThresh = D(7),
            CropOverlapRatio = D(8),
            CropNPointsDownscaleFactor = I(9),
            MinMaskRegionArea = I(10),
        };
    }

    // ---- PromptValidation --------------------------------------------------------------------

    static readonly string[] PointSeeds = ["10,20", "0,0,1", "639.5,479.5,0", "5,5,1", "320, 240"];
    static readonly string[] BoxSeeds = ["0,0,10,10", "1.5,2.5,100,200", "0,0,640,480", " 75, 275, 600 ,450"];
    static readonly (int H, int W)[] ImageSizes = [(480, 640), (1, 1), (16384, 16384), (int.MaxValue, 1), (3, 7)];

    /// <summary>`sam segment`'s number lists: comma-separated, trimmed, "nan" allowed, invariant culture.</summary>
    static double[] Numbers(string text) => text.Split(',').Select(part =>
    {
        var s = part.Trim();
        if (s.Equals("nan", StringComparison.OrdinalIgnoreCase)) return double.NaN;
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new SamException($"'{s}' is not a number");
    }).ToArray();

    [Fact]
    public void PromptValidationOfParsedPrompts()
    {
        string[] all = [.. PointSeeds.Select(p => "point " + p), .. BoxSeeds.Select(b => "box " + b)];
        // Cases read "kind H W text" (the image size, then the prompt); seeds on a 480×640 image.
        var seeds = all.Select((s, i) => Text(i, s, "none", s.Insert(s.IndexOf(' '), " 480 640"))).ToList();
        var run = new FuzzRun("prompt-validation", output);
        run.Run(seeds, FuzzBudget.Share(0.03), r =>
        {
            int i = r.Next(all.Length + 1);
            if (i == all.Length)
            {
                // A mask input: a length, a count and a size from boundary values; NaN now and then.
                int[] lengths = [0, 1, 65535, 65536, 65537, 196608], counts = [1, 3, 0, -1, int.MaxValue];
                int[] sides = [256, 0, -256, int.MaxValue, 1];
                var t = $"mask {lengths[r.Next(lengths.Length)]} {counts[r.Next(counts.Length)]} {sides[r.Next(sides.Length)]} {sides[r.Next(sides.Length)]} {r.Next(4) == 0}";
                return Text(i, "mask", "generated", t);
            }
            var kind = all[i][..all[i].IndexOf(' ')];
            var (text, what) = Mutator.MutateTextOrBytes(r, all[i][(kind.Length + 1)..]);
            var size = ImageSizes[r.Next(ImageSizes.Length)];
            return Text(i, all[i], what, $"{kind} {size.H} {size.W} {text}");
        }, input => Validate(input.Text!));
        run.AssertClean();
    }

    static void Validate(string text)
    {
        const string where = "(accepted by PromptValidation)";
        if (text.StartsWith("mask ", StringComparison.Ordinal))
        {
            var m = text.Split(' ').Skip(1).Take(4).Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
            var (length, count, h, w) = (m[0], m[1], m[2], m[3]);
            var mask = new float[length];
            if (text.EndsWith("True", StringComparison.Ordinal) && length > 0) mask[length / 2] = float.NaN;
            PromptValidation.MaskInput(mask, count, (h, w));
            if ((long)count * h * w != length || mask.Any(v => !float.IsFinite(v)))
                throw new FuzzFailure("postcondition: mask input", $"accepted {length} values for {count}×{h}×{w}", where);
            return;
        }
        var parts = text.Split(' ', 4);
        var size = (H: int.Parse(parts[1], CultureInfo.InvariantCulture), W: int.Parse(parts[2], CultureInfo.InvariantCulture));
        var v = Numbers(parts[3]);
        if (parts[0] == "point")
        {
            if (v.Length is not (2 or 3)) throw new SamException("expected x,y or x,y,label");
            int label = 1;
            if (v.Length == 3)
            {
                if (v[2] != Math.Floor(v[2]) || double.IsInfinity(v[2])) throw new SamException("bad label");
                label = v[2] is >= int.MinValue and <= int.MaxValue ? (int)v[2] : int.MaxValue;
            }
            float x = (float)v[0], y = (float)v[1];
            PromptValidation.Point(x, y, label, size);
            if (!float.IsFinite(x) || !float.IsFinite(y) || x < 0 || y < 0 || x > size.W || y > size.H || label is not (0 or 1))
                throw new FuzzFailure("postcondition: point", $"accepted ({x}, {y}, {label}) in {size.W}×{size.H}", where);
        }
        else
        {
            var box = Array.ConvertAll(v, d => (float)d);
            PromptValidation.Box(box, size);
            if (box.Length != 4 || box.Any(b => !float.IsFinite(b)) || box[2] < box[0] || box[3] < box[1] || box[0] < 0 || box[1] < 0 || box[2] > size.W || box[3] > size.H)
                throw new FuzzFailure("postcondition: box", $"accepted ({string.Join(", ", box)}) in {size.W}×{size.H}", where);
        }
    }

    // ---- The CLI in process ------------------------------------------------------------------

    /// <summary>Runs `sam` in process with SAM_DEBUG set; exit 1 is a refusal, an internal error or unhandled exception a failure.</summary>
    static void RunCli(string[] args)
    {
        var (code, stdout, stderr) = SamCli.Run(args);
        var crash = CrashRegex().Match(stderr);
        if (code == 2 || crash.Success)
        {
            var frame = FrameRegex().Match(stderr);
            // As FuzzRun.Where writes it: Type.Method (File.cs:line).
            string? location = frame.Success
                ? $"{string.Join('.', frame.Groups[1].Value.Split('.').TakeLast(2))} ({Path.GetFileName(frame.Groups[2].Value)}:{frame.Groups[3].Value})" : null;
            throw new FuzzFailure(crash.Success ? crash.Groups[1].Value : $"exit code {code}", stderr.Split('\n')[0], location);
        }
        if (code == 1) throw new SamException(stderr.Split('\n')[0]);
        if (code != 0) throw new FuzzFailure($"exit code {code}", stderr.Split('\n')[0] + stdout.Split('\n')[0]);
    }

    [GeneratedRegex(@"(?:Unhandled exception[.:]?\s*|internal error: )([A-Za-z_][\w.]*(?:Exception|Error))")]
    private static partial Regex CrashRegex();

    [GeneratedRegex(@"at (SamEngine\.(?!Tests)[\w.<>`]+)\(.*\) in (.+):line (\d+)")]
    private static partial Regex FrameRegex();

    /// <summary>Runs the CLI cases with SAM_DEBUG=1 (so that a crash prints its stack), restoring it after.</summary>
    void WithDebug(Action body)
    {
        var old = Environment.GetEnvironmentVariable("SAM_DEBUG");
        Environment.SetEnvironmentVariable("SAM_DEBUG", "1");
        try { body(); }
        finally { Environment.SetEnvironmentVariable("SAM_DEBUG", old); }
    }

    /// <summary>
    /// A CLI case: the arguments are stored as UTF-16 separated by U+FFFF (so that any mutated
    /// argument, newlines and lone surrogates included, comes back intact); the text shows them.
    /// </summary>
    static FuzzInput Args(int seed, string seedName, string mutation, string[] args, params FuzzFile[] files) =>
        new(seed, seedName, mutation, [new FuzzFile("args.utf16", System.Runtime.InteropServices.MemoryMarshal.AsBytes(string.Join('\uFFFF', args).AsSpan()).ToArray()), .. files],
            string.Join(" ", args.Select(a => a.Contains(' ') || a.Length == 0 ? $"'{a}'" : a)));

    [Fact]
    public void SegmentCli()
    {
        // A small embedding to prompt (48×64 original image); the model file does not exist.
        var config = new ImageEncoderConfig(64, 16, 32, 2, 2, 64, 4, [1], 8);
        var embedding = tmp.File("emb.npy");
        new ImageEmbedding(new float[8 * 4 * 4], [1, 8, 4, 4], (48, 64), (48, 64), config).Save(embedding);
        var mask = new MemoryStream();
        Npy.Write(mask, NpyArray.Of(new float[256 * 256], 1, 256, 256));
        var maskSeed = mask.ToArray();
        string model = tmp.File("missing.pth");
        string[] Base(string outDir) => ["segment", "--model", model, "--embedding", embedding, "--out-dir", outDir, "--device", "cpu"];
        string[] pointSeeds = ["10,20", "0,0,1", "63.5,47.5,0", "5,5"], boxSeeds = ["0,0,10,10", "1.5,2.5,60,40", "0,0,64,48"];

        var run = new FuzzRun("segment-cli", output) { SeedsMayBeRefused = true };
        WithDebug(() => run.Run([Args(0, "point", "none", [.. Base(tmp.File("out")), "--point", "10,20"])], FuzzBudget.Share(0.005, 50), r =>
        {
            var args = new List<string>(Base(tmp.File("out")));
            var ops = new List<string>();
            for (int k = r.Next(1, 4); k > 0; k--)
            {
                bool point = r.Next(2) == 0;
                var seed = point ? pointSeeds[r.Next(pointSeeds.Length)] : boxSeeds[r.Next(boxSeeds.Length)];
                var (text, what) = r.Next(4) == 0 ? (seed, "as is") : Mutator.MutateTextOrBytes(r, seed);
                string flag = point ? "--point" : "--box";
                if (r.Next(3) == 0) args.Add($"{flag}={text}");
                else args.AddRange([flag, text]);
                ops.Add($"{flag} {what}");
            }
            var files = new List<FuzzFile>();
            if (r.Next(8) == 0)
            {
                // A mask input next to the prompts, its header or bytes mutated.
                var (bytes, what, _) = r.Next(2) == 0 ? NpyFuzzTests.MutateHeader(r, maskSeed) : WithNoText(Mutator.Mutate(r, maskSeed, null, 0, NpyFuzzTests.HeaderEnd(maskSeed)));
                files.Add(new FuzzFile("mask.npy", bytes));
                args.AddRange(["--mask-input", "@mask.npy"]);
                ops.Add($"--mask-input {what}");
            }
            return Args(0, "segment", string.Join("; ", ops), [.. args], [.. files]);
        }, input =>
        {
            var args = ArgsOf(input);
            var maskFile = input.Files.FirstOrDefault(f => f.Name == "mask.npy");
            if (maskFile != null)
            {
                var path = tmp.File($"mask{Interlocked.Increment(ref counter)}.npy");
                File.WriteAllBytes(path, maskFile.Bytes);
                args = args.Select(a => a == "@mask.npy" ? path : a).ToArray();
            }
            RunCli(args);
        }));
        run.AssertClean();
    }

    static (byte[], string, string) WithNoText((byte[] Bytes, string What) m) => (m.Bytes, m.What, "");

    static string[] ArgsOf(FuzzInput input) => new string(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, char>(input.Bytes)).Split('\uFFFF');

    [Fact]
    public void AmgCli()
    {
        string model = tmp.File("missing.pth"), missingImage = tmp.File("missing.jpg");
        // A folder of 12 (empty) images, for the shard selection: the model is loaded after it, and is missing.
        var folder = Path.Combine(tmp.Path, "images");
        Directory.CreateDirectory(folder);
        for (int i = 0; i < 12; i++) File.WriteAllBytes(Path.Combine(folder, $"img{i:00}.png"), []);

        var run = new FuzzRun("amg-cli", output) { SeedsMayBeRefused = true };
        WithDebug(() => run.Run([Args(0, "defaults", "none", ["amg", "--model", model, "--input", missingImage, "--output", tmp.File("amg-out")])],
            FuzzBudget.Share(0.005, 50), r =>
        {
            bool useFolder = r.Next(2) == 0;
            var args = new List<string> { "amg", "--model", model, "--input", useFolder ? folder : missingImage, "--output", tmp.File("amg-out"), "--device", "cpu" };
            var ops = new List<string>();
            var (values, what) = MutateOptions(r);
            ops.Add(what);
            for (int i = 0; i < values.Length; i++)
            {
                if (values[i] == AmgOptionTexts[i].Default && r.Next(4) != 0) continue;
                if (r.Next(2) == 0) args.Add($"{AmgOptionTexts[i].Option}={values[i]}");
                else args.AddRange([AmgOptionTexts[i].Option, values[i]]);
            }
            if (r.Next(3) == 0)
            {
                var seed = ShardSeeds[r.Next(ShardSeeds.Length)];
                var (shard, w) = r.Next(3) == 0 ? (seed, "as is") : Mutator.MutateTextOrBytes(r, seed);
                args.Add($"--shard={shard}");
                ops.Add($"--shard {w}");
            }
            if (r.Next(6) == 0) { args.Add("--convert-to-rle"); ops.Add("rle"); }
            return Args(0, useFolder ? "folder" : "image", string.Join("; ", ops), [.. args]);
        }, input => RunCli(ArgsOf(input))));
        run.AssertClean();
    }
}
