using SamEngine.Engine;
using SamEngine.Model;
using SamEngine.Tools;
using SamEngine.Weights;

namespace SamEngine.Tests.Tools;

/// <summary>
/// MobileSAM (the mobilesam-mini checkpoint, TinyViT encoder) on the command line as any SAM
/// checkpoint: `sam info` names the family and its sizes, `sam verify` holds every fixture stage,
/// prompt case and AMG record to its bound (the prompt cases on every device), `sam convert` keeps every tensor (int64 counters
/// included) and the converted file gives the same embedding, and an embedding made by one
/// encoder is refused by a model with the other.
/// </summary>
[Collection("console")]
public sealed class MobileSamCliTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sam-mobilesam-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static string Model => Fixtures.Require("mobilesam-mini/mobilesam_mini.pth");

    [SkippableFact]
    public void InfoNamesTheEncoderAndItsSizes()
    {
        var (code, stdout, stderr) = SamCli.Run(["info", Model]);
        Assert.True(code == 0, stderr);
        Assert.Contains("mixed: 358 float32, 24 int64", stdout);
        Assert.Contains("MobileSAM TinyViT widths [16, 32, 64, 320], depths [2, 2, 4, 1], heads [2, 2, 8], windows [7, 14, 7], MBConv expansion 4, MLP ratio 4, local conv 3×3; stage grids 256, 128, 64, 64", stdout);
        Assert.Contains("embedding 256×64×64", stdout);
    }

    [SkippableFact]
    public void VerifyHoldsEveryStageCaseAndAmgRecord()
    {
        var fixtures = Path.GetDirectoryName(Model)!;
        var (code, stdout, stderr) = SamCli.Run(["verify", "--model", Model, "--fixtures", fixtures, "--device", "cpu"]);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("all 41 stages within 2× PyTorch float32's error", stdout);
        Assert.Contains("shapes amg count: 23 masks, the reference 23", stdout);
    }

    /// <summary>
    /// The prompt cases on the GPU kernels' devices, and AMG where work-groups run concurrently
    /// (as sam-mini's AMG test; the encoder's stages: TinyViTFixtureTests).
    /// </summary>
    [SkippableTheory]
    [InlineData("ilgpu-cpu", "prompts", 28)]
    [InlineData("opencl", "prompts,amg", 31)]
    public void VerifyHoldsThePromptCasesAndAmgOnTheKernelDevices(string device, string stages, int count)
    {
        TestDevices.Open(device);
        var fixtures = Path.GetDirectoryName(Model)!;
        var (code, stdout, stderr) = SamCli.Run(["verify", "--model", Model, "--fixtures", fixtures, "--device", device, "--stages", stages]);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"all {count} stages within 2× PyTorch float32's error", stdout);
    }

    [SkippableFact]
    public void ConvertKeepsEveryTensorAndTheEmbedding()
    {
        var output = Path.Combine(dir, "mobilesam.safetensors");
        var (code, stdout, stderr) = SamCli.Run(["convert", Model, "-o", output]);
        Assert.True(code == 0, stderr);
        Assert.Contains("382 tensors", stdout);
        using (var back = StateDict.Load(output))
        using (var original = StateDict.Load(Model))
        {
            Assert.Equal("tiny_vit", back.Metadata["encoder"]);
            Assert.Equal("[16, 32, 64, 320]", back.Metadata["embed_dims"]);
            Assert.Equal(original.Tensors.Keys.Order(StringComparer.Ordinal), back.Tensors.Keys.Order(StringComparer.Ordinal));
            foreach (var (name, t) in original.Tensors)
                Assert.True(t.ToBytes().AsSpan().SequenceEqual(back[name].ToBytes()), $"{name} differs after conversion");
        }

        var image = Path.Combine(Path.GetDirectoryName(Model)!, "shapes.png");
        var fromPth = Path.Combine(dir, "pth.npy");
        var fromSafetensors = Path.Combine(dir, "st.npy");
        Assert.Equal(0, SamCli.Run(["embed", "--model", Model, "--image", image, "-o", fromPth, "--device", "cpu"]).Code);
        Assert.Equal(0, SamCli.Run(["embed", "--model", output, "--image", image, "-o", fromSafetensors, "--device", "cpu"]).Code);
        var a = ImageEmbedding.Load(fromPth);
        Assert.Equal(a.Data, ImageEmbedding.Load(fromSafetensors).Data);
        Assert.Equal(a.EncoderDigest, ImageEmbedding.Load(fromSafetensors).EncoderDigest);
        var reference = Npy.Read(Path.Combine(Path.GetDirectoryName(Model)!, "shapes", "image_embedding.npy")).ToFloat();
        Assert.True(StageCheck.Compare("shapes", "image_embedding", a.Data, reference, 7.283738284631311e-07).Pass);
    }

    [SkippableFact]
    public void AnEmbeddingOfTheOtherEncoderIsRefused()
    {
        var sam = Fixtures.Require("sam-mini/sam_mini.pth");
        var image = Path.Combine(Path.GetDirectoryName(Model)!, "shapes.png");
        var embedding = Path.Combine(dir, "mobile.npy");
        Assert.Equal(0, SamCli.Run(["embed", "--model", Model, "--image", image, "-o", embedding, "--device", "cpu"]).Code);

        var (code, _, stderr) = SamCli.Run(["segment", "--model", sam, "--embedding", embedding, "--point", "450,300", "--out-dir", Path.Combine(dir, "out"), "--device", "cpu"]);
        Assert.Equal(1, code);
        Assert.Contains("the embedding was made by another encoder", stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));

        (code, _, stderr) = SamCli.Run(["segment", "--model", Model, "--embedding", embedding, "--point", "450,300", "--out-dir", Path.Combine(dir, "out"), "--device", "cpu"]);
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(dir, "out", "masks.npy")));
    }
}
