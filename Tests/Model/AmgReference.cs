using System.Text.Json;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>The sam-mini shapes AMG fixture: the parameters it was generated with and its records (uncompressed RLE).</summary>
public static class AmgReference
{
    public sealed record Record(int[] Counts, long Area, double[] Bbox, double PredictedIou, (double X, double Y) Point,
        double StabilityScore, int[] CropBox);

    public static AmgOptions Options(AmgOutputMode mode = AmgOutputMode.UncompressedRle)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/shapes/amg_params.json")));
        var p = doc.RootElement;
        return new AmgOptions
        {
            PointsPerSide = p.GetProperty("points_per_side").GetInt32(),
            PointsPerBatch = p.GetProperty("points_per_batch").GetInt32(),
            PredIouThresh = p.GetProperty("pred_iou_thresh").GetDouble(),
            StabilityScoreThresh = p.GetProperty("stability_score_thresh").GetDouble(),
            StabilityScoreOffset = p.GetProperty("stability_score_offset").GetDouble(),
            BoxNmsThresh = p.GetProperty("box_nms_thresh").GetDouble(),
            CropNLayers = p.GetProperty("crop_n_layers").GetInt32(),
            CropNmsThresh = p.GetProperty("crop_nms_thresh").GetDouble(),
            CropOverlapRatio = p.GetProperty("crop_overlap_ratio").GetDouble(),
            CropNPointsDownscaleFactor = p.GetProperty("crop_n_points_downscale_factor").GetInt32(),
            MinMaskRegionArea = p.GetProperty("min_mask_region_area").GetInt32(),
            OutputMode = mode,
        };
    }

    /// <summary>The raw text of amg.json (json.dump's, with bare NaN literals).</summary>
    public static string Text => File.ReadAllText(Fixtures.Require("sam-mini/shapes/amg.json"));

    public static Record[] Records() => Parse(Text);

    /// <summary>Parses json.dump output; Python's bare NaN is not JSON, so it is read as null → NaN.</summary>
    public static Record[] Parse(string json)
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
                r.GetProperty("crop_box").EnumerateArray().Select(v => v.GetInt32()).ToArray());
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
