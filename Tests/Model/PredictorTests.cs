using SamEngine.Engine;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>The predictor API beyond the fixture cases: thresholding, batching against single prompts, input checks.</summary>
public class PredictorTests
{
    [SkippableFact]
    public void MasksAreTheLogitsAboveTheThreshold()
    {
        using var predictor = DecoderFixtures.Predictor("cpu", "shapes");
        var dir = DecoderFixtures.CaseDir("shapes", "single_point_multimask");
        var logits = DecoderFixtures.Run(predictor, dir, returnLogits: true);
        var masks = DecoderFixtures.Run(predictor, dir, returnLogits: false);
        Assert.Null(masks.MaskLogits);
        Assert.Equal(Array.ConvertAll(logits.MaskLogits!, v => v > 0f), masks.Masks);
        Assert.Equal(logits.IouPredictions, masks.IouPredictions);
        Assert.Equal(logits.LowResLogits, masks.LowResLogits);
    }

    /// <summary>
    /// A batch whose prompts each carry a mask runs the image side per prompt from the first layer
    /// on (no sharing), and must give what each prompt gives alone.
    /// </summary>
    [SkippableFact]
    public void BatchOfPointsWithMasksMatchesSinglePrompts()
    {
        using var predictor = DecoderFixtures.Predictor("cpu", "shapes");
        float[,] first = { { 270, 240 } }, second = { { 558, 300 } };
        var maskA = predictor.Predict(first, [1], multimaskOutput: false).LowResLogits;
        var maskB = predictor.Predict(second, [1], multimaskOutput: false).LowResLogits;

        var alone = new[] { predictor.Predict(first, [1], maskInput: maskA, multimaskOutput: true, returnLogits: true),
                            predictor.Predict(second, [1], maskInput: maskB, multimaskOutput: true, returnLogits: true) };
        var points = new float[2, 1, 2] { { { 270, 240 } }, { { 558, 300 } } };
        var batch = predictor.PredictBatch(null, points, new[,] { { 1 }, { 1 } }, [.. maskA, .. maskB], multimaskOutput: true, returnLogits: true);

        Assert.Equal(2, batch.Batch);
        Assert.Equal(3, batch.MaskCount);
        for (int b = 0; b < 2; b++)
        {
            int low = alone[b].LowResLogits.Length, full = alone[b].MaskLogits!.Length;
            AssertClose(alone[b].LowResLogits, batch.LowResLogits.AsSpan(b * low, low).ToArray(), 1e-5);
            AssertClose(alone[b].IouPredictions, batch.IouPredictions.AsSpan(b * 3, 3).ToArray(), 1e-6);
            AssertClose(alone[b].MaskLogits!, batch.MaskLogits!.AsSpan(b * full, full).ToArray(), 1e-5);
        }
    }

    /// <summary>
    /// A batch larger than the decoder's chunk runs chunk by chunk (with or without per-prompt
    /// masks) and must give what one pass over the whole batch gives.
    /// </summary>
    [SkippableFact]
    public void ChunkedBatchMatchesOnePass()
    {
        using var whole = DecoderFixtures.Predictor("cpu", "shapes");
        var embedding = whole.EmbeddingTensor.Download();
        using var chunked = new SamPredictor(DecoderFixtures.Weights, Devices.Open("cpu")) { DecoderChunk = 2 };
        chunked.SetEmbedding(embedding, [1, 256, 64, 64], whole.OriginalSize);

        double[] points = [100, 80, 700, 300, 400, 500, 860, 20, 10, 590];
        var prompts = new PromptBatch(5, 1, points, [1, 1, 0, 1, 1], null, null);
        var masks = whole.Predict(new float[,] { { 270, 240 } }, [1], multimaskOutput: false).LowResLogits;
        var withMasks = new PromptBatch(5, 1, points, [1, 1, 0, 1, 1], null, [.. Enumerable.Range(0, 5).SelectMany(_ => masks)]);
        foreach (var batch in new[] { prompts, withMasks })
        {
            var (expected, expectedIou) = whole.Decode(batch);
            var (actual, actualIou) = chunked.Decode(batch);
            using (expected)
            using (actual)
            {
                Assert.Equal(expected.Shape, actual.Shape);
                AssertClose(expected.Download(), actual.Download(), 1e-5);
                AssertClose(expectedIou, actualIou, 1e-6);
            }
        }
    }

    [SkippableFact]
    public void BadPromptsAreOneLineErrors()
    {
        using var predictor = DecoderFixtures.Predictor("cpu", "shapes"); // 900 wide, 600 high
        void Fails(string fragment, Action predict) =>
            Assert.Contains(fragment, Assert.Throws<SamException>(predict).Message);
        Fails("outside the 900×600 image", () => predictor.Predict(new float[,] { { 901, 10 } }, [1]));
        Fails("outside the 900×600 image", () => predictor.Predict(new float[,] { { 10, -1 } }, [1]));
        Fails("not a finite number", () => predictor.Predict(new float[,] { { float.NaN, 10 } }, [1]));
        Fails("neither 1 (foreground) nor 0 (background)", () => predictor.Predict(new float[,] { { 10, 10 } }, [2]));
        Fails("2 points but 1 labels", () => predictor.Predict(new float[,] { { 10, 10 }, { 20, 20 } }, [1]));
        Fails("x1 < x0", () => predictor.Predict(box: [100, 10, 50, 60]));
        Fails("y1 < y0", () => predictor.Predict(box: [10, 100, 50, 60]));
        Fails("not a finite number", () => predictor.Predict(box: [10, 10, float.PositiveInfinity, 60]));
        Fails("expected 256×256", () => predictor.Predict(new float[,] { { 10, 10 } }, [1], maskInput: new float[64 * 64]));
        Fails("not a finite number", () => predictor.Predict(new float[,] { { 10, 10 } }, [1], maskInput: [float.NaN, .. new float[256 * 256 - 1]]));
        Fails("no prompt", () => predictor.Predict());
        Fails("3 boxes for a batch of 2 prompts", () => predictor.PredictBatch(new float[3, 4], new float[2, 1, 2], new int[2, 1]));
    }

    [SkippableFact]
    public void EmbeddingOfTheWrongShapeIsRefused()
    {
        using var predictor = new SamPredictor(DecoderFixtures.Weights, Devices.Open("cpu"));
        var ex = Assert.Throws<SamException>(() => predictor.SetEmbedding(new float[256 * 32 * 32], [1, 256, 32, 32], (600, 900)));
        Assert.Contains("does not fit this model's [1×256×64×64]", ex.Message);
        Assert.Throws<InvalidOperationException>(() => predictor.Predict(box: [1, 1, 5, 5]));
    }

    static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"max abs difference {worst:0.00e+0} > {tolerance:0.0e+0}");
    }
}
