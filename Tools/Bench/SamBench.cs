using System.Diagnostics;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tools.Bench;

/// <summary>What to benchmark: an official architecture with random weights, or a checkpoint.</summary>
internal sealed record BenchOptions(string? Arch, string? Model, string? Device, int Repeat)
{
    /// <summary>The stages to time (a subset of <see cref="SamBench.StageNames"/>); null for all.</summary>
    public IReadOnlyList<string>? Stages { get; init; }

    /// <summary>The file the decode stage reads (default: the image fixtures' large_photo.jpg, where present).</summary>
    public string? Image { get; init; }

    /// <summary>The serve stage's concurrent clients and clicks per client.</summary>
    public int Clients { get; init; } = 4;
    public int Clicks { get; init; } = 25;
}

/// <summary>Everything one `sam bench` run measured.</summary>
internal sealed record BenchReport
{
    public required string Arch { get; init; }
    public required Device Device { get; init; }
    public required int Threads { get; init; }
    public required long WeightsBytes { get; init; }
    public required IReadOnlyList<StageResult> Stages { get; init; }
    /// <summary>Measured FMA peak of the host CPU (null when the device is a GPU).</summary>
    public double? PeakGflops { get; init; }
    public double? NominalPeakGflops { get; init; }
    /// <summary>One core's share of the peak: the bound on GFLOP per CPU-second.</summary>
    public double? CorePeakGflops => PeakGflops / Threads;
    /// <summary>The buffer pool's peak during the encoder runs beyond what was live before (the weights).</summary>
    public long EncoderPoolPeakBytes { get; init; }
    /// <summary>Peak resident memory during the encoder runs beyond the resident size with the weights loaded.</summary>
    public long? EncoderRssPeakBytes { get; init; }
    public long? ProcessPeakRssBytes { get; init; }
    public double? LoadBefore { get; init; }
    public double? LoadAfter { get; init; }
    /// <summary>Every launch of every timed run, on one clock (for the Chrome trace).</summary>
    public required IReadOnlyList<LaunchRecord> Trace { get; init; }

    public StageResult Stage(string name) => Stages.First(s => s.Name == name);
}

/// <summary>
/// `sam bench`: times SAM's stages as a user runs them. The encoder on one 1024² image; the
/// prompt encoder + mask decoder for one point with multimask output (the masks upscaled to the
/// image and thresholded, as predict returns them) and for a batch of 64 single-point prompts
/// (low-resolution masks, as AMG consumes them); the automatic mask generator with 32×32 points, with the default filters
/// and with the IoU and stability filters off (every candidate postprocessed); and the image
/// decoder on a photo-sized JPEG, beside Pillow (libjpeg-turbo) in the same run. Each stage runs once
/// to warm up (JIT, buffer pool, kernel compilation), then <see cref="BenchOptions.Repeat"/>
/// timed runs under the profiler.
/// </summary>
internal static class SamBench
{
    public const int BatchPrompts = 64, AmgPointsPerSide = 32;
    public static readonly string[] StageNames = ["encoder", "decoder", "decoder_batch64", "amg", "amg_postprocess", "decode", "serve"];

    /// <summary>Stages that build their own model (or none) rather than the bench's predictor.</summary>
    static readonly string[] StandaloneStages = ["decode", "serve"];

    public static BenchReport Run(BenchOptions o, Action<string> progress)
    {
        if (o.Repeat is < 1 or > 1000) throw new SamException($"--repeat {o.Repeat}: must be in [1, 1000] timed runs");
        var unknown = o.Stages?.FirstOrDefault(s => !StageNames.Contains(s));
        if (unknown != null) throw new SamException($"--stages: unknown stage '{unknown}' (stages: {string.Join(", ", StageNames)})");
        bool Runs(string stage) => o.Stages == null || o.Stages.Contains(stage);
        bool modelStages = StageNames.Except(StandaloneStages).Any(Runs);
        if (Runs("serve") && (o.Arch == null) == (o.Model == null)) throw new SamException("bench: give exactly one of --arch and --model");
        if (modelStages && (o.Arch == null) == (o.Model == null)) throw new SamException("bench: give exactly one of --arch and --model");
        if (o.Image != null && !File.Exists(o.Image)) throw new SamException($"--image {o.Image}: file not found");
        var arch = o.Arch != null ? SamArchitecture.Parse(o.Arch) : null;
        var device = Devices.Open(o.Device);
        double? loadBefore = ProcessMemory.LoadAverage();

        if (Runs("decode")) progress("image decoding, and Pillow's");
        var decode = DecodeBench.Run(o.Image, Runs("decode") ? o.Repeat : 0);
        if (Runs("serve")) progress($"sam serve under {o.Clients} clients × {o.Clicks} clicks");
        var serve = Runs("serve") ? ServeLoad.Run(o, o.Clients, o.Clicks) : NotRun("serve");
        if (!modelStages)
            return new BenchReport
            {
                Arch = "-",
                Device = device,
                Threads = Environment.ProcessorCount,
                WeightsBytes = 0,
                Stages = [.. StageNames.Except(StandaloneStages).Select(s => NotRun(s)), decode, serve],
                ProcessPeakRssBytes = ProcessMemory.PeakRss(),
                LoadBefore = loadBefore,
                LoadAfter = ProcessMemory.LoadAverage(),
                Trace = [],
            };

        bool cpuHost = device.Kind is DeviceKind.Cpu or DeviceKind.IlgpuCpu;
        double? peak = null;
        if (cpuHost)
        {
            progress("measuring the FMA peak");
            peak = FmaPeak.MeasureGflops();
        }

        progress(arch != null ? $"building {arch.Name} with random weights on {device}" : $"loading {o.Model} on {device}");
        var stateDict = arch != null ? RandomWeights.Create(arch) : StateDict.Load(o.Model!);
        using var predictor = new SamPredictor(stateDict, device);
        var encoder = predictor.Encoder;
        device.Synchronize();
        long weightsBytes = device.Pool.LiveBytes;

        var clock = Stopwatch.StartNew();
        var trace = new List<LaunchRecord>();
        int size = predictor.ImageSize;
        var input = RandomValues(3 * size * size);

        // The encoder, with its memory beyond the weights.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long? rssBase = ProcessMemory.Rss();
        bool rssPeakReset = ProcessMemory.ResetPeak();
        long poolBase = device.Pool.LiveBytes;
        device.Pool.ResetPeak();
        // Without the encoder stage the decoders run on a seeded random embedding: their time does not depend on its values.
        float[] embedding = RandomValues(encoder.Config.OutChans * encoder.Config.GridSize * encoder.Config.GridSize);
        if (Runs("encoder")) progress("encoder");
        var encoderStage = Time("encoder", $"image encoder, {size}² image", Runs("encoder") ? o.Repeat : 0, device, clock, trace, () => embedding = encoder.Encode(input));
        long encoderPoolPeak = device.Pool.PeakLiveBytes - poolBase;
        long? rssPeak = ProcessMemory.PeakRss();
        long? encoderRss = rssPeakReset && rssPeak != null && rssBase != null ? rssPeak - rssBase : null;

        var cfg = encoder.Config;
        predictor.SetEmbedding(embedding, [1, cfg.OutChans, cfg.GridSize, cfg.GridSize], (size, size));

        if (Runs("decoder") || Runs("decoder_batch64")) progress("prompt encoder + mask decoder");
        var one = new PromptBatch(1, 1, [0.49 * size, 0.37 * size], [1], null, null);
        // As a click costs a user (and as ORT's official export runs): the three masks upscaled to the image and thresholded.
        var decoder = Time("decoder", $"prompt encoder + decoder, 1 point, multimask, masks upscaled to the {size}² image", Runs("decoder") ? Math.Max(o.Repeat, 10) : 0, device, clock, trace,
            () => predictor.PredictPrompts(one, multimaskOutput: true));
        var batch = GridPrompts(BatchPrompts, size);
        var decoderBatch = Time("decoder_batch64", $"prompt encoder + decoder, {BatchPrompts} points, multimask", Runs("decoder_batch64") ? Math.Max(o.Repeat, 3) : 0, device, clock, trace,
            () => Decode(predictor, batch));

        if (Runs("amg")) progress("automatic mask generator");
        var amg = AmgStage("amg", "automatic mask generator", new AmgOptions { PointsPerSide = AmgPointsPerSide },
            predictor, Runs("amg") ? o.Repeat : 0, device, clock, trace);
        if (Runs("amg_postprocess")) progress("automatic mask generator, every candidate postprocessed");
        var amgPost = AmgStage("amg_postprocess", "automatic mask generator, filters off", new AmgOptions { PointsPerSide = AmgPointsPerSide, PredIouThresh = 0, StabilityScoreThresh = 0 },
            predictor, Runs("amg_postprocess") ? o.Repeat : 0, device, clock, trace);

        return new BenchReport
        {
            Arch = arch?.Name ?? Path.GetFileName(o.Model!),
            Device = device,
            Threads = Environment.ProcessorCount,
            WeightsBytes = weightsBytes,
            Stages = [encoderStage, decoder, decoderBatch, amg, amgPost, decode, serve],
            PeakGflops = peak,
            NominalPeakGflops = cpuHost ? FmaPeak.NominalGflops() : null,
            EncoderPoolPeakBytes = encoderPoolPeak,
            EncoderRssPeakBytes = encoderRss,
            ProcessPeakRssBytes = ProcessMemory.PeakRss(),
            LoadBefore = loadBefore,
            LoadAfter = ProcessMemory.LoadAverage(),
            Trace = trace,
        };
    }

    /// <summary>
    /// The automatic mask generator as a user runs it (encoder included) on a seeded random image
    /// of the model's input size, points_per_side = <see cref="AmgPointsPerSide"/>. With random
    /// weights no mask passes the default IoU filter ("amg"), so the postprocessing a trained
    /// model's masks go through is timed with the IoU and stability filters off
    /// ("amg_postprocess"): all 3 masks of every prompt are upscaled, scored, boxed and encoded,
    /// the worst case a trained model approaches.
    /// </summary>
    static StageResult AmgStage(string name, string label, AmgOptions options, SamPredictor predictor, int repeat, Device device, Stopwatch clock, List<LaunchRecord> trace)
    {
        if (repeat == 0) return NotRun(name, label);
        var image = RandomRgb(predictor.ImageSize);
        var generator = new SamAutomaticMaskGenerator(predictor, options);
        AmgResult? last = null;
        var stage = Time(name, $"{label}, {AmgPointsPerSide}×{AmgPointsPerSide} points (encoder included)", repeat, device, clock, trace,
            () => last = generator.Generate(image));
        var t = last!.Timings;
        return stage with
        {
            Details = new Dictionary<string, double>
            {
                ["encoder_ms"] = t.Encoder.TotalMilliseconds,
                ["decoder_ms"] = t.Decoder.TotalMilliseconds,
                ["postprocess_ms"] = t.Postprocess.TotalMilliseconds,
                ["prompts"] = t.Prompts,
                ["masks_scored"] = t.MasksScored,
                ["masks"] = last.Masks.Count,
            },
        };
    }

    static void Decode(SamPredictor predictor, PromptBatch prompts)
    {
        var (lowRes, _) = predictor.Decode(prompts, multimaskOutput: true);
        predictor.Device.Synchronize();
        lowRes.Dispose();
    }

    /// <summary>One warm-up run, then the timed runs, profiled; launches go into the trace on the bench's clock. No runs: the stage is skipped.</summary>
    static StageResult Time(string name, string label, int runs, Device device, Stopwatch clock, List<LaunchRecord> trace, Action once)
    {
        if (runs == 0) return NotRun(name, label);
        once();
        device.Synchronize();
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        double origin = clock.Elapsed.TotalMilliseconds;
        var times = new List<double>();
        Profiler.Start();
        try
        {
            for (int i = 0; i < runs; i++)
            {
                var sw = Stopwatch.StartNew();
                once();
                device.Synchronize();
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            Profiler.Stop();
            process.Refresh();
            var cpuMs = (process.TotalProcessorTime - cpuStart).TotalMilliseconds;
            var launches = Profiler.Records;
            // On the bench's clock, and under the bench stage's name so that the trace tells the
            // single prompt's decoder launches from the batch's.
            trace.AddRange(launches.Select(l => l with
            {
                StartMs = l.StartMs + origin,
                Stage = l.Stage == name || l.Stage.StartsWith(name + "/") ? l.Stage : $"{name}/{l.Stage}",
            }));
            return new StageResult(name, label, times, cpuMs, launches);
        }
        finally
        {
            Profiler.Reset();
        }
    }

    public static StageResult NotRun(string name, string? label = null) => new(name, (label ?? name) + " (not run)", [], 0, []);

    /// <summary>Seeded values spanning ±2, as normalised pixels (and embeddings) do.</summary>
    static float[] RandomValues(int count)
    {
        var rng = new Random(1);
        var x = new float[count];
        for (int i = 0; i < x.Length; i++) x[i] = 4 * rng.NextSingle() - 2;
        return x;
    }

    static RgbImage RandomRgb(int size)
    {
        var pixels = new byte[3 * size * size];
        new Random(1).NextBytes(pixels);
        return new RgbImage(size, size, pixels);
    }

    /// <summary>n single-point foreground prompts on a regular grid over the image.</summary>
    static PromptBatch GridPrompts(int n, int size)
    {
        int side = (int)Math.Ceiling(Math.Sqrt(n));
        var points = new double[2 * n];
        for (int i = 0; i < n; i++)
        {
            points[2 * i] = (i % side + 0.5) * size / side;
            points[2 * i + 1] = (i / side + 0.5) * size / side;
        }
        return new PromptBatch(n, 1, points, Enumerable.Repeat(1, n).ToArray(), null, null);
    }
}
