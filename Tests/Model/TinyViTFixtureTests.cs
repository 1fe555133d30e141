using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;
using Xunit.Abstractions;

namespace SamEngine.Tests.Model;

/// <summary>
/// The mobilesam-mini fixture (MobileSAM's TinyViT encoder, random weights of a deliberately
/// non-standard size): its configuration read from the weights alone, then the first image through
/// our preprocessing and the encoder, every stage (patch embedding, each TinyViT stage, the
/// embedding) within 2× PyTorch float32's own error against the float64 reference.
/// </summary>
public class TinyViTFixtureTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void ConfigurationComesFromTheWeights()
    {
        using var sd = StateDict.Load(Fixtures.Require("mobilesam-mini/mobilesam_mini.pth"));
        Assert.True(TinyViTConfig.Detect(sd.Tensors.Keys));
        var c = TinyViTConfig.Infer(sd);
        Assert.Equal([16, 32, 64, 320], c.EmbedDims);
        Assert.Equal([2, 2, 4, 1], c.Depths);
        Assert.Equal([0, 2, 2, 8], c.NumHeads);
        Assert.Equal([0, 7, 14, 7], c.WindowSizes);
        Assert.Equal([64, 128, 256, 1280], c.HiddenDims);
        Assert.Equal(3, c.LocalConvSize);
        Assert.Equal(256, c.OutChans);
        Assert.Equal(1024, c.ImageSize);
        Assert.Equal([256, 128, 64, 64], Enumerable.Range(0, c.Stages).Select(c.Resolution));
        Assert.Equal([2, 2, 1], Enumerable.Range(0, c.Stages - 1).Select(c.MergingStride));
    }

    [SkippableFact]
    public void AMissingOrMisshapedTensorIsNamed()
    {
        using var sd = StateDict.Load(Fixtures.Require("mobilesam-mini/mobilesam_mini.pth"));
        const string qkv = "image_encoder.layers.2.blocks.1.attn.qkv.weight", biases = "image_encoder.layers.1.blocks.0.attn.attention_biases";
        var missing = new StateDict(sd.Tensors.Where(kv => kv.Key != qkv).ToDictionary());
        Assert.Contains($"missing '{qkv}'", Assert.Throws<CheckpointException>(() => SamConfig.Infer(missing)).Message);

        var table = sd.Tensors.ToDictionary();
        table[biases] = new WeightTensor(biases, [2, 50], DType.F32, () => new float[100]);
        Assert.Contains($"'{biases}' has shape [2, 50], expected [heads, window²]", Assert.Throws<CheckpointException>(() => SamConfig.Infer(new StateDict(table))).Message);

        var merged = sd.Tensors.ToDictionary();
        merged["image_encoder.layers.0.downsample.conv3.c.weight"] = new WeightTensor("image_encoder.layers.0.downsample.conv3.c.weight", [32, 31, 1, 1], DType.F32, () => new float[32 * 31]);
        Assert.Contains("misshaped 'image_encoder.layers.0.downsample.conv3.c.weight' [32, 31, 1, 1] (expected [32, 32, 1, 1])",
            Assert.Throws<CheckpointException>(() => SamConfig.Infer(new StateDict(merged))).Message);
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    [InlineData("opencl")]
    public void EveryStageWithinTwicePyTorchError(string deviceName)
    {
        var path = Fixtures.Require("mobilesam-mini/mobilesam_mini.pth");
        var dir = Path.Combine(Path.GetDirectoryName(path)!, "shapes");
        var errors = FixtureFolder.ReadJson(Path.Combine(Path.GetDirectoryName(path)!, "errors.json"))["shapes"]!;
        var device = TestDevices.Open(deviceName);
        using var sd = StateDict.Load(path);
        var cfg = TinyViTConfig.Infer(sd);
        using var encoder = TinyViT.Load(sd, cfg, device);

        var rgb = RgbImage.FromNpy(Npy.Read(Path.Combine(dir, "image_rgb.npy")));
        var (input, _) = Preprocess.Apply(rgb, cfg.ImageSize);
        var checks = new List<StageCheck>();
        using (var x = Tensor.FromArray(device, input, 1, 3, cfg.ImageSize, cfg.ImageSize))
        using (var embedding = encoder.Forward(x, (name, t) => checks.Add(Check(dir, errors, name, t))))
            checks.Add(Check(dir, errors, "image_embedding", embedding));

        foreach (var c in checks) output.WriteLine($"{c.Stage}: max abs {c.MaxAbs:E2}, rel-L2 {c.RelL2:E2}, PyTorch {c.TorchRelL2:E2}, ratio {c.Ratio:F2}");
        Assert.Equal(["patch_embed", "layer0", "layer1", "layer2", "layer3", "image_embedding"], checks.Select(c => c.Stage));
        Assert.All(checks, c => Assert.True(c.Pass, $"{c.Stage}: rel-L2 {c.RelL2:E2} vs PyTorch float32 {c.TorchRelL2:E2} (max abs {c.MaxAbs:E2})"));
    }

    static StageCheck Check(string dir, System.Text.Json.Nodes.JsonNode errors, string name, Tensor ours)
    {
        string file = name == "image_embedding" ? Path.Combine(dir, "image_embedding.npy") : Path.Combine(dir, "activations", name + ".npy");
        string key = name == "image_embedding" ? name : "activations/" + name;
        var reference = Npy.Read(file);
        Assert.Equal(reference.Shape, ours.Shape);
        return StageCheck.Compare("shapes", name, ours.Download(), reference.ToFloat(), (double?)errors[key]?["rel_l2"]);
    }
}
