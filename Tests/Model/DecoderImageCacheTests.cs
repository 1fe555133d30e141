using SamEngine.Engine;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>
/// The predictor's per-image decoder cache: made at the first prompt without a mask, reused by
/// the next (which then projects nothing of the image at full width), dropped with the image.
/// </summary>
public class DecoderImageCacheTests
{
    // An image-side projection, [HW, C]·[C, I]ᵀ: the cache runs the first block's three, the
    // transformer none (the folded products have h·T = 56 columns, not I = 128).
    const double ProjectionFlops = 2.0 * 4096 * 256 * 128;

    [SkippableFact]
    public void SecondPromptReusesTheImageProjections()
    {
        using var predictor = DecoderFixtures.Predictor("cpu", "shapes");
        var first = Profiled(() => predictor.Predict(new float[,] { { 270, 240 } }, [1]));
        var second = Profiled(() => predictor.Predict(new float[,] { { 558, 300 } }, [1]));

        static bool Projection(LaunchRecord r) => r.Kernel == "gemm" && r.Flops >= ProjectionFlops;
        Assert.Equal(3, first.Count(r => r.Stage.EndsWith("image_cache") && Projection(r)));
        Assert.DoesNotContain(first, r => r.Stage.Contains("transformer") && Projection(r));
        Assert.DoesNotContain(second, r => r.Stage.Contains("image_cache"));
        Assert.DoesNotContain(second, r => r.Stage.Contains("transformer") && Projection(r));
        Assert.Contains(second, r => r.Stage.EndsWith("transformer/layer0"));
    }

    /// <summary>A new image drops the cache: the results are a fresh predictor's, to the bit.</summary>
    [SkippableFact]
    public void NewImageGivesWhatAFreshPredictorGives()
    {
        using var reused = DecoderFixtures.Predictor("cpu", "shapes");
        reused.Predict(new float[,] { { 270, 240 } }, [1]);
        var truck = Npy.Read(Fixtures.Require("sam-mini/truck/image_embedding.npy"));
        reused.SetEmbedding(truck.ToFloat(), truck.Shape, DecoderFixtures.OriginalSize("truck"));
        using var fresh = DecoderFixtures.Predictor("cpu", "truck");

        float[,] point = { { 900, 500 } };
        var expected = fresh.Predict(point, [1]);
        var actual = reused.Predict(point, [1]);
        Assert.Equal(expected.LowResLogits, actual.LowResLogits);
        Assert.Equal(expected.IouPredictions, actual.IouPredictions);

        // And a box on it after a point (the cache serves every prompt without a mask).
        float[] box = [300, 200, 1400, 900];
        Assert.Equal(fresh.Predict(box: box, multimaskOutput: false).LowResLogits, reused.Predict(box: box, multimaskOutput: false).LowResLogits);
    }

    static IReadOnlyList<LaunchRecord> Profiled(Action predict)
    {
        Profiler.Start();
        try { predict(); }
        finally { Profiler.Stop(); }
        var records = Profiler.Records;
        Profiler.Reset();
        return records;
    }
}
