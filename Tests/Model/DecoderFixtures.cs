using SamEngine.Engine;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tests.Model;

/// <summary>The sam-mini prompt cases: loading, running them through the predictor, and measuring errors.</summary>
internal static class DecoderFixtures
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

    public static (int H, int W) OriginalSize(string image) => Folder.OriginalSize(image);

    /// <summary>A predictor on the device with the image's fp64-reference embedding set.</summary>
    public static SamPredictor Predictor(string device, string image)
    {
        var predictor = new SamPredictor(Weights, TestDevices.Open(device));
        PromptVerification.SetReferenceEmbedding(predictor, Folder, image);
        return predictor;
    }

    /// <summary>The sam-mini fixture folder (meta.json, errors.json, the images' reference arrays and cases).</summary>
    public static FixtureFolder Folder => FixtureFolder.Open(Path.GetDirectoryName(Fixtures.Require("sam-mini/meta.json"))!);

    /// <summary>Runs one case's prompt as the reference generated it; maskInput is the low-res logits the case chains from.</summary>
    public static SamPrediction Run(SamPredictor predictor, string caseDir, float[]? maskInput = null, bool returnLogits = true) =>
        PromptVerification.Predict(predictor, FixtureFolder.ReadJson(Path.Combine(caseDir, "prompt.json")), maskInput, returnLogits);

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
