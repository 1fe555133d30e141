using SamEngine.FileFormats;

namespace SamEngine.Tests.Api;

/// <summary>
/// MobileSAM through the public API as any SAM checkpoint: the mobilesam-mini checkpoint gives the
/// official code's masks for a point, its progress is reported per TinyViT stage, and the official
/// architecture builds from random weights.
/// </summary>
public class MobileSamApiTests
{
    [SkippableFact]
    public void APointGivesTheReferencesMasks()
    {
        using var model = SamModel.Load(Fixtures.Require("mobilesam-mini/mobilesam_mini.pth"), "cpu");
        using var predictor = new SamPredictor(model);
        var steps = new List<SamProgress>();
        predictor.SetImageAsync(Fixtures.Require("mobilesam-mini/shapes.png"), new Recorder(steps.Add)).GetAwaiter().GetResult();
        Assert.Equal([1, 2, 3, 4, 5], steps.Where(s => s.Stage == "encoder").Select(s => s.Done));
        var p = predictor.Predict(new float[,] { { 450, 330 } }, [1]);

        var dir = Fixtures.Require("mobilesam-mini/shapes/cases/single_point_multimask");
        var referenceMasks = (bool[])Npy.Read(Path.Combine(dir, "masks.npy")).Data;
        var referenceIou = ((Array)Npy.Read(Path.Combine(dir, "iou_predictions.npy")).Data).Cast<object>().Select(Convert.ToDouble).ToArray();
        Assert.Equal(referenceMasks.Length, p.Masks!.Length);
        int flipped = referenceMasks.Where((m, i) => m != p.Masks[i]).Count();
        Assert.True(flipped <= referenceMasks.Length / 1000, $"{flipped} of {referenceMasks.Length} mask pixels differ from the reference's");
        for (int k = 0; k < 3; k++) Assert.Equal(referenceIou[k], p.IouPredictions[k], 3e-4);
    }

    [Fact]
    public void TheOfficialSizeBuildsFromRandomWeights()
    {
        using var model = SamModel.Random("mobile_sam", device: "cpu");
        Assert.Equal(1024, model.ImageSize);
        using var predictor = new SamPredictor(model);
        predictor.SetImage(new RgbImage(48, 64, new byte[64 * 48 * 3]));
        var embedding = predictor.GetImageEmbedding();
        Assert.Equal([1, 256, 64, 64], embedding.Shape);
        Assert.All(embedding.Data, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(3, predictor.Predict(new float[,] { { 10, 10 } }, [1]).MaskCount);
    }
}
