using System.Text.Json;
using SamEngine.Engine;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tests.Model;

/// <summary>The sam-mini prompt cases: loading, running them through the predictor, and measuring errors.</summary>
public static class DecoderFixtures
{
    static readonly Lazy<StateDict> weights = new(() => StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth")));

    public static StateDict Weights
    {
        get
        {
            Fixtures.Require("sam-mini/sam_mini.pth");
            return weights.Value;
        }
    }

    public static string[] Images => ["shapes", "truck", "groceries"];

    public static string CaseDir(string image, string caseName) => Fixtures.Require($"sam-mini/{image}/cases/{caseName}");

    public static (int H, int W) OriginalSize(string image)
    {
        using var meta = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/meta.json")));
        var size = meta.RootElement.GetProperty(image).GetProperty("original_size");
        return (size[0].GetInt32(), size[1].GetInt32());
    }

    /// <summary>A predictor on the device with the image's fp64-reference embedding set.</summary>
    public static SamPredictor Predictor(string device, string image)
    {
        var predictor = new SamPredictor(Weights, TestDevices.Open(device));
        var embedding = Npy.Read(Fixtures.Require($"sam-mini/{image}/image_embedding.npy"));
        predictor.SetEmbedding(embedding.ToFloat(), embedding.Shape, OriginalSize(image));
        return predictor;
    }

    /// <summary>Runs one case as the reference generated it; maskInput is the low-res logits the case chains from.</summary>
    public static SamPrediction Run(SamPredictor predictor, string caseDir, float[]? maskInput = null, bool returnLogits = true)
    {
        using var prompt = JsonDocument.Parse(File.ReadAllText(Path.Combine(caseDir, "prompt.json")));
        var root = prompt.RootElement;
        bool multimask = root.GetProperty("multimask_output").GetBoolean();
        if (root.TryGetProperty("boxes", out var boxesJson))
        {
            var boxes = new float[boxesJson.GetArrayLength(), 4];
            for (int i = 0; i < boxes.GetLength(0); i++)
                for (int j = 0; j < 4; j++) boxes[i, j] = boxesJson[i][j].GetSingle();
            return predictor.PredictBatch(boxes, multimaskOutput: multimask, returnLogits: returnLogits);
        }
        float[,]? coords = null;
        int[]? labels = null;
        if (root.TryGetProperty("point_coords", out var pointsJson))
        {
            int n = pointsJson.GetArrayLength();
            coords = new float[n, 2];
            labels = new int[n];
            for (int i = 0; i < n; i++)
            {
                coords[i, 0] = pointsJson[i][0].GetSingle();
                coords[i, 1] = pointsJson[i][1].GetSingle();
                labels[i] = root.GetProperty("point_labels")[i].GetInt32();
            }
        }
        float[]? box = root.TryGetProperty("box", out var boxJson) ? [.. boxJson.EnumerateArray().Select(v => v.GetSingle())] : null;
        return predictor.Predict(coords, labels, box, maskInput, multimask, returnLogits);
    }

    public static string? ChainsFrom(string caseDir)
    {
        using var prompt = JsonDocument.Parse(File.ReadAllText(Path.Combine(caseDir, "prompt.json")));
        return prompt.RootElement.TryGetProperty("mask_input", out var from) ? from.GetString() : null;
    }

    /// <summary>PyTorch fp32's own error against fp64 for one output of one case (errors.json); for the IoU predictions, at least the typical case's.</summary>
    public static (double MaxAbs, double RelL2) Bound(string image, string caseName, string output)
    {
        using var errors = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/errors.json")));
        var e = errors.RootElement.GetProperty(image).GetProperty($"cases/{caseName}").GetProperty(output);
        double maxAbs = e.GetProperty("max_abs").GetDouble(), relL2 = e.GetProperty("rel_l2").GetDouble();
        if (output != "iou_predictions") return (maxAbs, relL2);
        // One to three numbers are one draw of PyTorch's rounding, and a lucky draw is no bound
        // (groceries/box: 1.4e-6 relative where the other cases show 1–7e-6). The IoU bound is
        // the larger of this case's draw and the median draw over every case of every image,
        // relative to the outputs' size.
        var all = errors.RootElement.EnumerateObject()
            .SelectMany(im => im.Value.EnumerateObject().Where(c => c.Name.StartsWith("cases/")))
            .Select(c => c.Value.GetProperty(output)).ToList();
        double Median(IEnumerable<double> xs) { var v = xs.Order().ToArray(); return v[v.Length / 2]; }
        double typicalAbs = Median(all.Select(o => o.GetProperty("max_abs").GetDouble() / o.GetProperty("ref_max_abs").GetDouble()));
        double typicalRel = Median(all.Select(o => o.GetProperty("rel_l2").GetDouble()));
        return (Math.Max(maxAbs, typicalAbs * e.GetProperty("ref_max_abs").GetDouble()), Math.Max(relL2, typicalRel));
    }

    public static int FlipBound(string image, string caseName, out int pixels)
    {
        using var errors = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/errors.json")));
        var e = errors.RootElement.GetProperty(image).GetProperty($"cases/{caseName}");
        pixels = e.GetProperty("mask_pixels").GetInt32();
        return e.GetProperty("mask_pixels_flipped").GetInt32();
    }

    public static (double MaxAbs, double RelL2) Error(float[] ours, double[] reference)
    {
        Assert.Equal(reference.Length, ours.Length);
        double maxAbs = 0, diff2 = 0, ref2 = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = ours[i] - reference[i];
            if (double.IsNaN(d)) return (double.NaN, double.NaN);
            maxAbs = Math.Max(maxAbs, Math.Abs(d));
            diff2 += d * d;
            ref2 += reference[i] * reference[i];
        }
        return (maxAbs, Math.Sqrt(diff2 / Math.Max(ref2, double.Epsilon)));
    }
}
