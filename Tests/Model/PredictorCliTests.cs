using System.Text.Json;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tests.Model;

/// <summary>`sam segment` end to end, in process: outputs on success, one-line errors and no folder on failure.</summary>
public sealed class PredictorCliTests : IDisposable
{
    readonly string work = Path.Combine(Path.GetTempPath(), "sam-segment-" + Guid.NewGuid().ToString("N"));

    public PredictorCliTests() => Directory.CreateDirectory(work);

    public void Dispose() => Directory.Delete(work, recursive: true);

    /// <summary>The shapes image's reference embedding saved as `sam embed` saves one (.npy with its .json beside it).</summary>
    string Embedding()
    {
        var path = Path.Combine(work, "shapes.npy");
        if (File.Exists(path)) return path;
        var values = Npy.Read(Fixtures.Require("sam-mini/shapes/image_embedding.npy"));
        var config = ImageEncoderConfig.Of(SamConfig.Infer(DecoderFixtures.Weights));
        new ImageEmbedding(values.ToFloat(), values.Shape, (600, 900), (683, 1024), config).Save(path);
        return path;
    }

    static (int Code, string Error) Sam(params string[] args)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try { return (SamEngine.Tools.Program.Main(args), error.ToString()); }
        finally { Console.SetError(previous); }
    }

    [SkippableFact]
    public void SinglePointWritesEveryOutput()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var outDir = Path.Combine(work, "out");
        var (code, error) = Sam("segment", "--model", model, "--embedding", Embedding(), "--point", "270,240", "--out-dir", outDir, "--device", "cpu");
        Assert.True(code == 0, error);

        var masks = Npy.Read(Path.Combine(outDir, "masks.npy"));
        Assert.Equal(NpyDType.Bool, masks.DType);
        Assert.Equal(new[] { 1, 600, 900 }, masks.Shape);
        var reference = Npy.Read(Fixtures.Require("sam-mini/shapes/cases/single_point/masks.npy")).ToBool();
        int flipped = masks.ToBool().Zip(reference).Count(p => p.First != p.Second);
        Assert.True(flipped <= 1 + 54, $"{flipped} pixels differ from the reference mask");
        Assert.Equal(new[] { 1 }, Npy.Read(Path.Combine(outDir, "iou_predictions.npy")).Shape);
        Assert.Equal(new[] { 1, 256, 256 }, Npy.Read(Path.Combine(outDir, "low_res_logits.npy")).Shape);
        Assert.True(new FileInfo(Path.Combine(outDir, "overlay.png")).Length > 0);
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "result.json")));
        Assert.Equal(900, result.RootElement.GetProperty("original_size")[1].GetInt32());
        Assert.Equal(683, result.RootElement.GetProperty("input_size")[0].GetInt32());
        Assert.True(result.RootElement.GetProperty("timings_ms").GetProperty("decoder_ms").GetDouble() > 0);
        Assert.Equal([outDir], Directory.GetDirectories(work));   // no temporary folder left
    }

    [SkippableFact]
    public void SeveralBoxesAreOneBatch()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var outDir = Path.Combine(work, "batch");
        var (code, error) = Sam("segment", "--model", model, "--embedding", Embedding(),
            "--box", "45,30,450,300", "--box", "360,180,855,570", "--box", "180,360,540,588", "--out-dir", outDir, "--device", "cpu");
        Assert.True(code == 0, error);
        Assert.Equal(new[] { 3, 1, 600, 900 }, Npy.Read(Path.Combine(outDir, "masks.npy")).Shape);
        var iou = Npy.Read(Path.Combine(outDir, "iou_predictions.npy"));
        Assert.Equal(new[] { 3, 1 }, iou.Shape);
        var reference = Npy.Read(Fixtures.Require("sam-mini/shapes/cases/batched_boxes/iou_predictions.npy")).ToDouble();
        Assert.All(iou.ToDouble().Zip(reference), p => Assert.Equal(p.Second, p.First, 5));

        // Its low-res logits of a single-mask run feed back as a mask prompt, leading axes and all.
        var single = Path.Combine(work, "single");
        Assert.Equal(0, Sam("segment", "--model", model, "--embedding", Embedding(), "--box", "45,30,450,300", "--out-dir", single, "--device", "cpu").Code);
        var chained = Path.Combine(work, "chained");
        (code, error) = Sam("segment", "--model", model, "--embedding", Embedding(), "--box", "45,30,450,300",
            "--mask-input", Path.Combine(single, "low_res_logits.npy"), "--out-dir", chained, "--device", "cpu");
        Assert.True(code == 0, error);
    }

    /// <summary>An image segmented directly and through `sam embed` + --embedding gives the same files.</summary>
    [SkippableFact]
    public void SavedEmbeddingGivesWhatTheImageGives()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var image = Fixtures.Require("sam-mini/shapes.png");
        var embedding = Path.Combine(work, "embedded.npy");
        var (code, error) = Sam("embed", "--model", model, "--image", image, "-o", embedding, "--device", "cpu");
        Assert.True(code == 0, error);
        string[] prompt = ["--point", "450,330", "--box", "225,60,810,450", "--multimask", "--device", "cpu"];
        (code, error) = Sam(["segment", "--model", model, "--image", image, .. prompt, "--out-dir", Path.Combine(work, "direct")]);
        Assert.True(code == 0, error);
        (code, error) = Sam(["segment", "--model", model, "--embedding", embedding, .. prompt, "--out-dir", Path.Combine(work, "saved")]);
        Assert.True(code == 0, error);
        foreach (var file in new[] { "masks.npy", "iou_predictions.npy", "low_res_logits.npy" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(work, "direct", file)), File.ReadAllBytes(Path.Combine(work, "saved", file)));
        var masks = Npy.Read(Path.Combine(work, "direct", "masks.npy"));
        Assert.Equal(new[] { 3, 600, 900 }, masks.Shape);
    }

    public static TheoryData<string[], string> BadPrompts => new()
    {
        { ["--point", "950,10"], "outside the 900×600 image" },
        { ["--point", "nan,10"], "not a finite number" },
        { ["--point", "10,10,2"], "neither 1 (foreground) nor 0 (background)" },
        { ["--point", "10,ten"], "is not a number" },
        { ["--box", "100,10,50,60"], "x1 < x0" },
        { ["--box", "10,10,50"], "expected x0,y0,x1,y1" },
        { ["--point", "10,10", "--box", "1,1,5,5", "--box", "2,2,6,6"], "points cannot be combined with several boxes" },
        { [], "no prompt" },
    };

    [SkippableTheory]
    [MemberData(nameof(BadPrompts))]
    public void BadPromptFailsWithOneLineAndNoFolder(string[] prompt, string message)
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var outDir = Path.Combine(work, "out");
        var (code, error) = Sam(["segment", "--model", model, "--embedding", Embedding(), .. prompt, "--out-dir", outDir, "--device", "cpu"]);
        Assert.Equal(1, code);
        Assert.StartsWith("sam: error: ", error);
        Assert.Contains(message, error);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(outDir));
        Assert.Empty(Directory.GetDirectories(work));
    }

    [SkippableFact]
    public void MaskInputOfTheWrongShapeFails()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var mask = Path.Combine(work, "mask.npy");
        Npy.Write(mask, new float[2 * 256 * 256], 2, 256, 256);
        var outDir = Path.Combine(work, "out");
        var (code, error) = Sam("segment", "--model", model, "--embedding", Embedding(), "--point", "10,10", "--mask-input", mask, "--out-dir", outDir, "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("mask input has shape (2, 256, 256)", error);
        Assert.False(Directory.Exists(outDir));
    }

    [SkippableFact]
    public void AFolderHoldingOtherFilesIsNotReplaced()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var outDir = Path.Combine(work, "mine");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "keep");
        var (code, error) = Sam("segment", "--model", model, "--embedding", Embedding(), "--point", "10,10", "--out-dir", outDir, "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("exists and was not written by sam", error);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(outDir, "notes.txt")));
    }
}
