using System.Text.Json.Nodes;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// Every prompt case of a fixture (DIR/&lt;image&gt;/cases/&lt;case&gt;/prompt.json and its outputs)
/// through the predictor, from the image's float64 reference embedding: low-res logits, IoU
/// predictions and upscaled logits within twice PyTorch float32's own error (max abs and
/// relative L2), mask pixels flipped within PyTorch's count plus 0.01% of the pixels.
/// </summary>
internal static class PromptVerification
{
    public static IEnumerable<StageCheck> Run(SamPredictor predictor, FixtureFolder fixtures, IReadOnlyCollection<string>? images = null)
    {
        foreach (var image in fixtures.Images.Where(i => images == null || images.Contains(i)))
        {
            var cases = Path.Combine(fixtures.ImageDir(image), "cases");
            if (!Directory.Exists(cases)) continue;
            SetReferenceEmbedding(predictor, fixtures, image);
            foreach (var dir in Directory.GetDirectories(cases).Order(StringComparer.Ordinal))
                foreach (var check in RunCase(predictor, fixtures, image, Path.GetFileName(dir)))
                    yield return check;
        }
    }

    public static void SetReferenceEmbedding(SamPredictor predictor, FixtureFolder fixtures, string image)
    {
        var embedding = Npy.Read(Path.Combine(fixtures.ImageDir(image), "image_embedding.npy"));
        predictor.SetEmbedding(embedding.ToFloat(), embedding.Shape, fixtures.OriginalSize(image));
    }

    /// <summary>One case on the predictor's current embedding; a case whose prompt feeds back another case's low-res logits runs that one first, as the reference did.</summary>
    public static IEnumerable<StageCheck> RunCase(SamPredictor predictor, FixtureFolder fixtures, string image, string caseName)
    {
        var dir = Path.Combine(fixtures.ImageDir(image), "cases", caseName);
        var prompt = FixtureFolder.ReadJson(Path.Combine(dir, "prompt.json"));
        float[]? maskInput = null;
        if ((string?)prompt["mask_input"] is { } from)
            maskInput = Predict(predictor, FixtureFolder.ReadJson(Path.Combine(fixtures.ImageDir(image), "cases", from, "prompt.json")), null).LowResLogits;
        var p = Predict(predictor, prompt, maskInput);
        string stage = "cases/" + caseName;

        StageCheck Compare(string output, float[] ours, string file)
        {
            var check = StageCheck.Compare(image, $"{stage} {output}", ours, Npy.Read(Path.Combine(dir, file)).ToFloat(), null);
            var (maxAbs, relL2) = Bound(fixtures, image, caseName, output);
            return check with { TorchRelL2 = relL2, TorchMaxAbs = maxAbs };
        }
        yield return Compare("low_res_logits", p.LowResLogits, "low_res_logits.npy");
        yield return Compare("iou_predictions", p.IouPredictions, "iou_predictions.npy");
        if (File.Exists(Path.Combine(dir, "mask_logits.npy"))) yield return Compare("mask_logits", p.MaskLogits!, "mask_logits.npy");

        var masks = Npy.Read(Path.Combine(dir, "masks.npy")).ToBool();
        int flipped = 0;
        for (int i = 0; i < masks.Length; i++)
            if (i >= p.MaskLogits!.Length || p.MaskLogits[i] > 0 != masks[i]) flipped++;
        var errors = fixtures.Errors(image, stage);
        int torchFlips = (int?)errors?["mask_pixels_flipped"] ?? 0;
        double bound = torchFlips + 1e-4 * masks.Length;
        yield return new StageCheck(image, $"{stage} masks", flipped, (double)flipped / masks.Length, null,
            Detail: $"{flipped} of {masks.Length} mask pixels flipped (bound {bound:0.#}: PyTorch float32 flips {torchFlips} + 0.01%)")
        { Verdict = flipped <= bound && p.MaskLogits!.Length == masks.Length };
    }

    /// <summary>Runs prompt.json as the reference ran it (predict, or predict_torch with a batch of boxes), keeping the upscaled logits.</summary>
    public static SamPrediction Predict(SamPredictor predictor, JsonNode prompt, float[]? maskInput, bool returnLogits = true)
    {
        bool multimask = (bool)prompt["multimask_output"]!;
        if (prompt["boxes"] is JsonArray boxesJson)
        {
            var boxes = new float[boxesJson.Count, 4];
            for (int i = 0; i < boxes.GetLength(0); i++)
                for (int j = 0; j < 4; j++) boxes[i, j] = (float)boxesJson[i]![j]!;
            return predictor.PredictBatch(boxes, multimaskOutput: multimask, returnLogits: returnLogits);
        }
        float[,]? coords = null;
        int[]? labels = null;
        if (prompt["point_coords"] is JsonArray points)
        {
            coords = new float[points.Count, 2];
            labels = new int[points.Count];
            for (int i = 0; i < points.Count; i++)
            {
                coords[i, 0] = (float)points[i]![0]!;
                coords[i, 1] = (float)points[i]![1]!;
                labels[i] = (int)prompt["point_labels"]![i]!;
            }
        }
        float[]? box = prompt["box"] is JsonArray b ? [.. b.Select(v => (float)v!)] : null;
        return predictor.Predict(coords, labels, box, maskInput, multimask, returnLogits);
    }

    /// <summary>
    /// PyTorch float32's own error against float64 for one output of one case (errors.json). One
    /// to three IoU predictions are one draw of PyTorch's rounding, and a lucky draw is no bound
    /// (groceries/box: 1.4e-6 relative where the other cases show 1–7e-6): their bound is the
    /// larger of this case's draw and the median draw over every case of every image, relative
    /// to the outputs' size.
    /// </summary>
    public static (double MaxAbs, double RelL2) Bound(FixtureFolder fixtures, string image, string caseName, string output)
    {
        var e = fixtures.Errors(image, "cases/" + caseName)?[output]
            ?? throw new SamException($"{fixtures.Path}/errors.json: no {output} error for {image}/cases/{caseName}");
        double maxAbs = (double)e["max_abs"]!, relL2 = (double)e["rel_l2"]!;
        if (output != "iou_predictions") return (maxAbs, relL2);
        var all = fixtures.ErrorsLike("cases/").Select(c => c[output]!).ToList();
        static double Median(IEnumerable<double> xs) { var v = xs.Order().ToArray(); return v[v.Length / 2]; }
        double typicalAbs = Median(all.Select(o => (double)o["max_abs"]! / (double)o["ref_max_abs"]!));
        double typicalRel = Median(all.Select(o => (double)o["rel_l2"]!));
        return (Math.Max(maxAbs, typicalAbs * (double)e["ref_max_abs"]!), Math.Max(relL2, typicalRel));
    }
}
