using SamEngine.Engine;
using SamEngine.Model;

namespace SamEngine;

/// <summary>The form of each record's segmentation, as the reference's output_mode.</summary>
public enum AmgOutputMode
{
    /// <summary>"binary_mask": <see cref="MaskRecord.BinaryMask"/> holds each mask as bools.</summary>
    BinaryMask,
    /// <summary>"uncompressed_rle": the run lengths only (<see cref="MaskRecord.Rle"/>), the least memory.</summary>
    UncompressedRle,
    /// <summary>"coco_rle": also COCO's compressed string (<see cref="MaskRecord.CocoCounts"/>), what amg.py's JSON holds.</summary>
    CocoRle,
}

/// <summary>
/// SamAutomaticMaskGenerator's parameters, with its defaults (chosen by the authors for ViT-H).
/// Exactly one of <see cref="PointsPerSide"/> and <see cref="PointGrids"/> gives the prompts.
/// </summary>
public sealed record AmgOptions
{
    /// <summary>An n×n grid of point prompts over each crop (fewer in deeper crop layers); null with <see cref="PointGrids"/>.</summary>
    public int? PointsPerSide { get; init; } = 32;
    /// <summary>Explicit grids in [0,1]², one per crop layer (layer 0 is the whole image).</summary>
    public IReadOnlyList<(double X, double Y)[]>? PointGrids { get; init; }
    /// <summary>Prompts per decoder pass: memory against speed, no effect on the masks.</summary>
    public int PointsPerBatch { get; init; } = 64;
    /// <summary>Masks whose predicted IoU is not above this are dropped (0 keeps all).</summary>
    public double PredIouThresh { get; init; } = 0.88;
    /// <summary>Masks whose stability score is below this are dropped (0 keeps all).</summary>
    public double StabilityScoreThresh { get; init; } = 0.95;
    /// <summary>How far above and below the cut-off the stability score thresholds the logits.</summary>
    public double StabilityScoreOffset { get; init; } = 1.0;
    /// <summary>Box IoU above which the lower-scored of two masks in a crop is dropped as a duplicate.</summary>
    public double BoxNmsThresh { get; init; } = 0.7;
    /// <summary>Layers of overlapping crops run besides the whole image (layer i has 4^i crops): small objects found better, at more encoder passes.</summary>
    public int CropNLayers { get; init; }
    /// <summary>Box IoU above which duplicates across crops are dropped.</summary>
    public double CropNmsThresh { get; init; } = 0.7;
    /// <summary>How much neighbouring crops overlap, as a fraction of the image's length in the first layer.</summary>
    public double CropOverlapRatio { get; init; } = 512.0 / 1500;
    /// <summary>Points per side in layer i are PointsPerSide / factor^i.</summary>
    public int CropNPointsDownscaleFactor { get; init; } = 1;
    /// <summary>Holes and islands smaller than this many pixels are removed (0: no cleanup).</summary>
    public int MinMaskRegionArea { get; init; }
    /// <summary>The form of each mask in the records.</summary>
    public AmgOutputMode OutputMode { get; init; } = AmgOutputMode.BinaryMask;

    // The documented ranges (README, `sam amg --help`): beyond them a run is a mistake or days of work.
    internal const int MaxPointsPerSide = 512, MaxPointsPerBatch = 1024, MaxCropLayers = 4, MaxDownscaleFactor = 64;
    /// <summary>Point prompts over all crops: 512² for the whole image, about 45 min of decoder work on 2 CPU cores.</summary>
    internal const long MaxPrompts = 512L * 512;
    internal const double MaxStabilityScoreOffset = 100;

    /// <summary>The point grid of each crop layer; fails with a one-line message on options out of range or inconsistent.</summary>
    internal (double X, double Y)[][] LayerPointGrids()
    {
        if ((PointsPerSide == null) == (PointGrids == null))
            throw new SamException("give exactly one of points per side and explicit point grids");
        static void Range(string option, double value, double min, double max, bool maxOpen = false)
        {
            if (!(value >= min && (maxOpen ? value < max : value <= max)))
                throw new SamException($"{option} {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}: must be in [{min}, {max}{(maxOpen ? ")" : "]")}");
        }
        Range("--points-per-batch", PointsPerBatch, 1, MaxPointsPerBatch);
        Range("--crop-n-layers", CropNLayers, 0, MaxCropLayers);
        Range("--crop-n-points-downscale-factor", CropNPointsDownscaleFactor, 1, MaxDownscaleFactor);
        Range("--min-mask-region-area", MinMaskRegionArea, 0, 16384.0 * 16384);
        Range("--crop-overlap-ratio", CropOverlapRatio, 0, 1, maxOpen: true);
        Range("--pred-iou-thresh", PredIouThresh, 0, 1);
        Range("--stability-score-thresh", StabilityScoreThresh, 0, 1);
        Range("--box-nms-thresh", BoxNmsThresh, 0, 1);
        Range("--crop-nms-thresh", CropNmsThresh, 0, 1);
        Range("--stability-score-offset", StabilityScoreOffset, -MaxStabilityScoreOffset, MaxStabilityScoreOffset);
        if (PointsPerSide is int n)
        {
            Range("--points-per-side", n, 1, MaxPointsPerSide);
            (double X, double Y)[][] layers;
            try { layers = SamEngine.Model.PointGrids.BuildAllLayers(n, CropNLayers, CropNPointsDownscaleFactor); }
            catch (ArgumentException e) { throw new SamException(e.Message); }
            CheckWork(layers);
            return layers;
        }
        var grids = PointGrids!;
        if (grids.Count < CropNLayers + 1)
            throw new SamException($"{grids.Count} point grids for {CropNLayers + 1} crop layers: give one grid per layer");
        for (int i = 0; i < grids.Count; i++)
        {
            if (grids[i].Length == 0) throw new SamException($"point grid {i} is empty");
            foreach (var (x, y) in grids[i])
                if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) throw new SamException($"point grid {i} has ({x}, {y}) outside [0, 1]²");
        }
        CheckWork(grids);
        return [.. grids];
    }

    /// <summary>Refuses more than <see cref="MaxPrompts"/> point prompts over all crops (layer i has 4^i crops), saying what it would cost.</summary>
    void CheckWork(IReadOnlyList<(double X, double Y)[]> layers)
    {
        long prompts = 0, crops = 0;
        for (int i = 0; i <= CropNLayers && i < layers.Count; i++)
        {
            long layerCrops = 1L << (2 * i);
            crops += layerCrops;
            prompts += layerCrops * layers[i].Length;
        }
        if (prompts > MaxPrompts)
            throw new SamException($"{prompts:N0} point prompts over {crops} crop(s): about {prompts * 10 / 1000.0 / 3600:0.#} h of decoder work " +
                $"at ~10 ms a prompt on a CPU (plus {crops} encoder passes); the limit is {MaxPrompts:N0} prompts (e.g. --points-per-side {MaxPointsPerSide}, no crop layers)");
    }
}
