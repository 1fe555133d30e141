using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine.Tests.Api;

/// <summary>
/// The library as a package user calls it (SamModel, SamPredictor, SamPrediction): every way in
/// gives the same masks, and they are the official code's.
/// </summary>
public class SamPredictorApiTests
{
    static string Model => Fixtures.Require("sam-mini/sam_mini.pth");
    static string Shapes => Fixtures.Require("sam-mini/shapes.png");
    static readonly float[,] Point = { { 450, 330 } };   // the fixture's single_point_multimask case

    [SkippableFact]
    public void APointGivesTheReferencesMasks()
    {
        using var model = SamModel.Load(Model, "cpu");
        using var predictor = new SamPredictor(model);
        predictor.SetImage(Shapes);
        Assert.Equal((600, 900), predictor.OriginalSize);
        var p = predictor.Predict(Point, [1]);

        var dir = Fixtures.Require("sam-mini/shapes/cases/single_point_multimask");
        var referenceMasks = (bool[])Npy.Read(Path.Combine(dir, "masks.npy")).Data;
        var referenceIou = ((Array)Npy.Read(Path.Combine(dir, "iou_predictions.npy")).Data).Cast<object>().Select(Convert.ToDouble).ToArray();
        Assert.Equal(referenceMasks.Length, p.Masks!.Length);
        // Encoded here from the PNG in float32: a few boundary pixels may flip against float64.
        int flipped = referenceMasks.Where((m, i) => m != p.Masks[i]).Count();
        Assert.True(flipped <= referenceMasks.Length / 1000, $"{flipped} of {referenceMasks.Length} mask pixels differ from the reference's");
        for (int k = 0; k < 3; k++) Assert.Equal(referenceIou[k], p.IouPredictions[k], 3e-4);

        int best = p.BestMaskIndex();
        Assert.Equal(Array.IndexOf(referenceIou, referenceIou.Max()), best);
        var mask = p.Mask(best);
        Assert.Equal(p.Masks.AsSpan(best * 600 * 900, 600 * 900).ToArray(), mask);
        Assert.Equal(mask, p.MaskRle(best).Decode());
        Assert.Equal(256 * 256, p.LowResLogitsOf(best).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Mask(3));
    }

    [SkippableFact]
    public void APathBytesAStreamAndPixelsGiveTheSameMasks()
    {
        using var model = SamModel.Load(Model, "cpu");
        using var predictor = new SamPredictor(model);
        var results = new List<SamPrediction>();
        void Run(Action set)
        {
            set();
            results.Add(predictor.Predict(Point, [1]));
        }
        Run(() => predictor.SetImage(Shapes));
        Run(() => predictor.SetImage(File.ReadAllBytes(Shapes)));
        Run(() => { using var s = File.OpenRead(Shapes); predictor.SetImage(s); });
        Run(() => predictor.SetImage(RgbImage.Load(Shapes)));
        Run(() => predictor.SetImageAsync(Shapes).GetAwaiter().GetResult());
        Run(() => { using var s = File.OpenRead(Shapes); predictor.SetImageAsync(s).GetAwaiter().GetResult(); });

        // The same as the internal pipeline `sam segment` runs.
        using var internalPredictor = new SamPredictor(model.Weights, model.Device);
        internalPredictor.SetImage(ImageLoader.Load(Shapes));
        var expected = internalPredictor.Predict(Point, [1]);
        foreach (var r in results)
        {
            Assert.Equal(expected.Masks, r.Masks);
            Assert.Equal(expected.IouPredictions, r.IouPredictions);
            Assert.Equal(expected.LowResLogits, r.LowResLogits);
        }
    }

    [SkippableFact]
    public void ASafetensorsCheckpointGivesThePthsMasks()
    {
        using var tmp = new SamEngine.Tests.Weights.TempFolder();
        using (var pth = SamEngine.Weights.StateDict.Load(Model))
            SamEngine.Weights.Safetensors.SafetensorsWriter.Write(tmp.File("sam_mini.safetensors"), [.. pth.Tensors.Values], new Dictionary<string, string>());
        SamPrediction Run(string path)
        {
            using var model = SamModel.Load(path, "cpu");
            using var predictor = new SamPredictor(model);
            predictor.SetImage(Shapes);
            return predictor.Predict(Point, [1]);
        }
        var fromPth = Run(Model);
        var fromSafetensors = Run(tmp.File("sam_mini.safetensors"));
        Assert.Equal(fromPth.Masks, fromSafetensors.Masks);
        Assert.Equal(fromPth.IouPredictions, fromSafetensors.IouPredictions);
    }

    [SkippableFact]
    public async Task EncodingReportsEachBlockAndCanBeCancelled()
    {
        using var model = SamModel.Load(Model, "cpu");
        using var predictor = new SamPredictor(model);
        var reports = new List<SamProgress>();
        await predictor.SetImageAsync(Shapes, new Recorder(reports.Add));
        // sam-mini: the patch embedding and 4 blocks, in order.
        Assert.Equal(Enumerable.Range(1, 5).Select(i => new SamProgress("encoder", i, 5)), reports);
        Assert.True(predictor.IsImageSet);

        using var cancel = new CancellationTokenSource();
        var seen = new List<SamProgress>();
        var task = predictor.SetImageAsync(Shapes, new Recorder(p =>
        {
            seen.Add(p);
            if (p.Done == 2) cancel.Cancel();
        }), cancel.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.Equal(2, seen.Count);
        Assert.False(predictor.IsImageSet);
        Assert.Throws<InvalidOperationException>(() => predictor.Predict(Point, [1]));
    }

    [SkippableFact]
    public void ASavedEmbeddingGivesTheSameMasksWithoutTheEncoder()
    {
        var folder = Directory.CreateTempSubdirectory("sam-api-");
        try
        {
            using var model = SamModel.Load(Model, "cpu");
            using var predictor = new SamPredictor(model);
            predictor.SetImage(Shapes);
            var before = predictor.Predict(Point, [1]);
            var path = Path.Combine(folder.FullName, "shapes.npy");
            predictor.GetImageEmbedding().Save(path);

            using var fresh = new SamPredictor(model);
            var loaded = ImageEmbedding.Load(path);
            Assert.Equal([1, 256, 64, 64], loaded.Shape);
            Assert.Equal((600, 900), loaded.OriginalSize);
            Assert.Equal((683, 1024), loaded.InputSize);
            fresh.SetEmbedding(loaded);
            var after = fresh.Predict(Point, [1]);
            Assert.Equal(before.Masks, after.Masks);
            Assert.Equal(before.IouPredictions, after.IouPredictions);

            // Refining with the best mask fed back, as the official demo does with each click.
            var refined = fresh.Predict(new float[,] { { 450, 330 }, { 200, 100 } }, [1, 0],
                maskInput: after.LowResLogitsOf(after.BestMaskIndex()), multimaskOutput: false);
            Assert.Equal(1, refined.MaskCount);
        }
        finally { folder.Delete(recursive: true); }
    }

    [SkippableFact]
    public void MistakesAreOneLineSamExceptions()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-checkpoint.pth");
        // (A checkpoint's problems are a SamException's subclass, internal like the reader.)
        var e = Assert.ThrowsAny<SamException>(() => SamModel.Load(missing, "cpu"));
        Assert.Contains(missing, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("unknown device 'tpu'", Assert.Throws<SamException>(() => SamModel.Load(Model, "tpu")).Message);

        using var model = SamModel.Load(Model, "cpu");
        using var predictor = new SamPredictor(model);
        Assert.Contains("image bytes: ", Assert.Throws<SamException>(() => predictor.SetImage(new byte[] { 1, 2, 3 })).Message);
        predictor.SetImage(Shapes);
        Assert.Contains("outside the 900×600 image", Assert.Throws<SamException>(() => predictor.Predict(new float[,] { { 901, 10 } }, [1])).Message);
        Assert.Throws<ArgumentException>(() => new RgbImage(2, 2, new byte[11]));
    }

    [SkippableFact]
    public void MaskPngsHoldTheMask()
    {
        var image = RgbImage.Load(Shapes);
        var mask = new bool[image.Height * image.Width];
        for (int y = 100; y < 200; y++)
            for (int x = 300; x < 450; x++) mask[y * image.Width + x] = true;

        var grey = RgbImage.Decode(MaskPng.Encode(mask, image.Height, image.Width));
        for (int p = 0; p < mask.Length; p++) Assert.Equal(mask[p] ? 255 : 0, grey.Pixels[3 * p]);

        var cutOut = StbImageSharp.ImageResult.FromMemory(MaskPng.CutOut(image, mask), StbImageSharp.ColorComponents.RedGreenBlueAlpha);
        for (int p = 0; p < mask.Length; p++)
        {
            Assert.Equal(mask[p] ? 255 : 0, cutOut.Data[4 * p + 3]);
            if (mask[p]) Assert.Equal(image.Pixels[3 * p + 1], cutOut.Data[4 * p + 1]);
        }
        Assert.Throws<ArgumentException>(() => MaskPng.Encode(mask, image.Height + 1, image.Width));
    }
}
