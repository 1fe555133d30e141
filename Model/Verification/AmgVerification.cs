using System.Text.Json;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// The automatic mask generator on a fixture image with the parameters it was generated with
/// (DIR/&lt;image&gt;/amg_params.json), against the official code's float64 records (amg.json,
/// uncompressed RLE): as many masks, each the reference's mask (IoU ≥ 0.99) from the same point
/// and crop with its box within a pixel, and scores within <see cref="ScoreTolerance"/>.
/// </summary>
internal static class AmgVerification
{
    /// <summary>
    /// The decoder's IoU predictions are within 3.3e-5 of float64 in PyTorch float32 (errors.json,
    /// worst case): 1e-4 is that bound with margin for a different but equally accurate summation
    /// order. Stability scores are ratios of pixel counts of logits upscaled from the same low-res
    /// logits: a pixel flipping at ±1 moves them by 1/union.
    /// </summary>
    public const double ScoreTolerance = 1e-4;

    public const double MinIou = 0.99;

    public sealed record Record(int[] Counts, long Area, double[] Bbox, double PredictedIou, (double X, double Y) Point,
        double StabilityScore, int[] CropBox);

    /// <summary>The fixture images that have AMG records.</summary>
    public static IEnumerable<string> Images(FixtureFolder fixtures) =>
        fixtures.Images.Where(i => File.Exists(Path.Combine(fixtures.ImageDir(i), "amg.json")));

    /// <summary>AMG on the image with the fixture's parameters.</summary>
    public static AmgResult Generate(SamPredictor predictor, FixtureFolder fixtures, string image, RgbImage rgb) =>
        new SamAutomaticMaskGenerator(predictor, Options(fixtures, image)).Generate(rgb);

    public static IEnumerable<StageCheck> Compare(AmgResult result, FixtureFolder fixtures, string image)
    {
        var amgJson = Path.Combine(fixtures.ImageDir(image), "amg.json");
        var reference = Records(InputFile.ReadAllText(amgJson, amgJson, 256 << 20));
        yield return new StageCheck(image, "amg count", Math.Abs(result.Masks.Count - reference.Length), 0, null,
            Detail: $"{result.Masks.Count} masks, the reference {reference.Length}") { Verdict = result.Masks.Count == reference.Length };

        int n = Math.Min(result.Masks.Count, reference.Length);
        double minIou = 1, maxScore = 0, maxBox = 0;
        var problems = new List<string>();
        for (int i = 0; i < n; i++)
        {
            var ours = result.Masks[i];
            var theirs = reference[i];
            double iou = Iou(result.Height, result.Width, ours.Rle.Counts, theirs.Counts);
            minIou = Math.Min(minIou, iou);
            var (bx, by, bw, bh) = ours.Box.ToXywh();
            var (cx, cy, cw, ch) = ours.CropBox.ToXywh();
            maxBox = Math.Max(maxBox, new double[] { bx, by, bw, bh }.Zip(theirs.Bbox).Max(p => Math.Abs(p.First - p.Second)));
            maxScore = Math.Max(maxScore, Math.Abs(ours.PredictedIou - theirs.PredictedIou));
            bool stabilityNaN = double.IsNaN(theirs.StabilityScore);
            if (stabilityNaN != float.IsNaN(ours.StabilityScore)) problems.Add($"mask {i}: stability {ours.StabilityScore}, the reference {theirs.StabilityScore}");
            else if (!stabilityNaN) maxScore = Math.Max(maxScore, Math.Abs(ours.StabilityScore - theirs.StabilityScore));
            if (ours.PointCoords != theirs.Point) problems.Add($"mask {i}: point {ours.PointCoords}, the reference {theirs.Point}");
            if (!new[] { cx, cy, cw, ch }.SequenceEqual(theirs.CropBox)) problems.Add($"mask {i}: crop box {ours.CropBox}, the reference {string.Join(",", theirs.CropBox)}");
        }
        yield return new StageCheck(image, "amg masks", 1 - minIou, 0, null,
            Detail: $"lowest IoU with the reference's mask {minIou:F4}, boxes within {maxBox} px" + (problems.Count > 0 ? "; " + string.Join("; ", problems.Take(3)) : ""))
        { Verdict = minIou >= MinIou && maxBox <= 1 && problems.Count == 0 };
        yield return new StageCheck(image, "amg scores", maxScore, 0, null,
            Detail: $"predicted IoU and stability within {maxScore:0.0e+0} of the reference's (bound {ScoreTolerance:0e+0})")
        { Verdict = maxScore <= ScoreTolerance };
    }

    public static AmgOptions Options(FixtureFolder fixtures, string image, AmgOutputMode mode = AmgOutputMode.UncompressedRle)
    {
        var p = FixtureFolder.ReadJson(Path.Combine(fixtures.ImageDir(image), "amg_params.json"));
        return new AmgOptions
        {
            PointsPerSide = (int)p["points_per_side"]!,
            PointsPerBatch = (int)p["points_per_batch"]!,
            PredIouThresh = (double)p["pred_iou_thresh"]!,
            StabilityScoreThresh = (double)p["stability_score_thresh"]!,
            StabilityScoreOffset = (double)p["stability_score_offset"]!,
            BoxNmsThresh = (double)p["box_nms_thresh"]!,
            CropNLayers = (int)p["crop_n_layers"]!,
            CropNmsThresh = (double)p["crop_nms_thresh"]!,
            CropOverlapRatio = (double)p["crop_overlap_ratio"]!,
            CropNPointsDownscaleFactor = (int)p["crop_n_points_downscale_factor"]!,
            MinMaskRegionArea = (int)p["min_mask_region_area"]!,
            OutputMode = mode,
        };
    }

    /// <summary>Parses json.dump output; Python's bare NaN is not JSON, so it is read as null → NaN.</summary>
    public static Record[] Records(string json)
    {
        using var doc = JsonDocument.Parse(json.Replace(": NaN", ": null"));
        return doc.RootElement.EnumerateArray().Select(r =>
        {
            var seg = r.GetProperty("segmentation");
            var point = r.GetProperty("point_coords")[0];
            var stability = r.GetProperty("stability_score");
            return new Record(
                seg.GetProperty("counts").EnumerateArray().Select(c => c.GetInt32()).ToArray(),
                r.GetProperty("area").GetInt64(),
                r.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray(),
                r.GetProperty("predicted_iou").GetDouble(),
                (point[0].GetDouble(), point[1].GetDouble()),
                stability.ValueKind == JsonValueKind.Null ? double.NaN : stability.GetDouble(),
                // Integers, though some exports write them as floats (mobilesam-mini: 552.0).
                r.GetProperty("crop_box").EnumerateArray().Select(v => v.TryGetInt32(out int i) ? i : checked((int)v.GetDouble())).ToArray());
        }).ToArray();
    }

    /// <summary>IoU of two masks given as RLE counts over the same pixels; two empty masks count as identical.</summary>
    public static double Iou(int height, int width, int[] a, int[] b)
    {
        var ma = new Rle(height, width, a).Decode();
        var mb = new Rle(height, width, b).Decode();
        long inter = 0, union = 0;
        for (int i = 0; i < ma.Length; i++)
        {
            if (ma[i] && mb[i]) inter++;
            if (ma[i] || mb[i]) union++;
        }
        return union == 0 ? 1.0 : (double)inter / union;
    }
}
