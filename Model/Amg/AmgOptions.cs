using SamEngine.Engine;

namespace SamEngine.Model;

/// <summary>The form of each record's segmentation, as the reference's output_mode.</summary>
public enum AmgOutputMode { BinaryMask, UncompressedRle, CocoRle }

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
    public double PredIouThresh { get; init; } = 0.88;
    public double StabilityScoreThresh { get; init; } = 0.95;
    public double StabilityScoreOffset { get; init; } = 1.0;
    public double BoxNmsThresh { get; init; } = 0.7;
    public int CropNLayers { get; init; }
    public double CropNmsThresh { get; init; } = 0.7;
    public double CropOverlapRatio { get; init; } = 512.0 / 1500;
    public int CropNPointsDownscaleFactor { get; init; } = 1;
    /// <summary>Holes and islands smaller than this many pixels are removed (0: no cleanup).</summary>
    public int MinMaskRegionArea { get; init; }
    public AmgOutputMode OutputMode { get; init; } = AmgOutputMode.BinaryMask;

    /// <summary>The point grid of each crop layer; fails with a one-line message on inconsistent options.</summary>
    public (double X, double Y)[][] LayerPointGrids()
    {
        if ((PointsPerSide == null) == (PointGrids == null))
            throw new SamException("give exactly one of points per side and explicit point grids");
        if (PointsPerBatch < 1) throw new SamException($"points per batch must be at least 1, got {PointsPerBatch}");
        if (CropNLayers < 0) throw new SamException($"crop layers must be at least 0, got {CropNLayers}");
        if (CropNPointsDownscaleFactor < 1) throw new SamException($"crop points downscale factor must be at least 1, got {CropNPointsDownscaleFactor}");
        if (MinMaskRegionArea < 0) throw new SamException($"min mask region area must be at least 0, got {MinMaskRegionArea}");
        if (!(CropOverlapRatio >= 0 && CropOverlapRatio < 1)) throw new SamException($"crop overlap ratio must be in [0, 1), got {CropOverlapRatio}");
        foreach (var (name, value) in new[] { ("pred IoU", PredIouThresh), ("stability score", StabilityScoreThresh), ("box NMS", BoxNmsThresh), ("crop NMS", CropNmsThresh) })
            if (double.IsNaN(value)) throw new SamException($"{name} threshold is not a number");
        if (!double.IsFinite(StabilityScoreOffset)) throw new SamException($"stability score offset must be a finite number, got {StabilityScoreOffset}");
        if (PointsPerSide is int n)
        {
            if (n < 1) throw new SamException($"points per side must be at least 1, got {n}");
            try { return SamEngine.Model.PointGrids.BuildAllLayers(n, CropNLayers, CropNPointsDownscaleFactor); }
            catch (ArgumentException e) { throw new SamException(e.Message); }
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
        return [.. grids];
    }
}
