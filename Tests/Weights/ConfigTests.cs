using System.Text.Json;
using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

/// <summary>The configuration read off the weights, and the state-dict validation built on it.</summary>
public class ConfigTests
{
    [SkippableFact]
    public void FixtureConfigIsInferredFromItsWeights()
    {
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        using var json = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Require("sam-mini/config.json")));
        var want = json.RootElement;
        var c = SamConfig.Infer(sd);
        Assert.Equal(want.GetProperty("embed_dim").GetInt32(), c.EncoderEmbedDim);
        Assert.Equal(want.GetProperty("depth").GetInt32(), c.EncoderDepth);
        Assert.Equal(want.GetProperty("num_heads").GetInt32(), c.EncoderNumHeads);
        Assert.Equal(want.GetProperty("global_attn_indexes").EnumerateArray().Select(x => x.GetInt32()), c.EncoderGlobalAttnIndexes);
        Assert.Equal(want.GetProperty("img_size").GetInt32(), c.ImageSize);
        Assert.Equal(want.GetProperty("patch_size").GetInt32(), c.PatchSize);
        Assert.Equal(want.GetProperty("window_size").GetInt32(), c.WindowSize);
        Assert.Equal(want.GetProperty("out_chans").GetInt32(), c.OutChans);
        Assert.Equal(want.GetProperty("mlp_ratio").GetDouble(), c.MlpRatio);
        Assert.Equal(want.GetProperty("prompt_embed_dim").GetInt32(), c.PromptEmbedDim);
        Assert.Equal(want.GetProperty("decoder_depth").GetInt32(), c.DecoderDepth);
        Assert.Equal(want.GetProperty("decoder_mlp_dim").GetInt32(), c.DecoderMlpDim);
        Assert.Equal(want.GetProperty("decoder_heads").GetInt32(), c.DecoderHeads);
        Assert.Equal(want.GetProperty("num_multimask_outputs").GetInt32(), c.NumMultimaskOutputs);
        Assert.Equal(want.GetProperty("iou_head_depth").GetInt32(), c.IouHeadDepth);
        Assert.Equal(want.GetProperty("iou_head_hidden_dim").GetInt32(), c.IouHeadHiddenDim);
        Assert.True(c.UseAbsPos);
        Assert.True(c.QkvBias);
        Assert.Equal(64, c.ImageEmbeddingSize);
    }

    [SkippableFact]
    public void ExpectedTensorsAreTheOfficialKeysInOrder()
    {
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        var keys = File.ReadAllLines(Fixtures.Require("sam-mini/keys.txt")).Where(l => l.Length > 0)
            .Select(l => (Name: l[..l.IndexOf(' ')], Shape: JsonSerializer.Deserialize<int[]>(l[(l.IndexOf(' ') + 1)..])!)).ToList();
        var expected = SamConfig.Infer(sd).ExpectedTensors().ToList();
        Assert.Equal(keys.Select(k => k.Name), expected.Select(e => e.Name));
        Assert.Equal(keys.Select(k => string.Join(",", k.Shape)), expected.Select(e => string.Join(",", e.Shape)));
    }

    static SamConfig Official(int width, int depth, int heads, int[] global) => new()
    {
        EncoderEmbedDim = width, EncoderDepth = depth, EncoderNumHeads = heads, EncoderGlobalAttnIndexes = global, WindowSize = 14,
        PatchSize = 16, ImageSize = 1024, EncoderMlpDim = 4 * width, UseAbsPos = true, QkvBias = true, OutChans = 256,
        PromptEmbedDim = 256, MaskInChans = 16, DecoderDepth = 2, DecoderMlpDim = 2048, AttentionDownsampleRate = 2,
        NumMultimaskOutputs = 3, IouHeadDepth = 3, IouHeadHiddenDim = 256,
    };

    public static IEnumerable<object[]> Sizes() =>
    [
        ["vit_b", Official(768, 12, 12, [2, 5, 8, 11])],
        ["vit_l", Official(1024, 24, 16, [5, 11, 17, 23])],
        ["vit_h", Official(1280, 32, 16, [7, 15, 23, 31])],
        ["slimsam_77", Official(168, 12, 12, [2, 5, 8, 11]) with { EncoderMlpDim = 696 }],
        ["odd", Official(96, 5, 3, [0]) with { WindowSize = 7, PatchSize = 8, ImageSize = 512, UseAbsPos = false, QkvBias = false,
            PromptEmbedDim = 128, OutChans = 128, MaskInChans = 8, DecoderDepth = 3, DecoderMlpDim = 333, NumMultimaskOutputs = 5,
            IouHeadDepth = 4, IouHeadHiddenDim = 77, AttentionDownsampleRate = 1 }],
    ];

    static StateDict Synthetic(SamConfig c, Func<string, int[], int[]>? reshape = null) => new(
        c.ExpectedTensors().ToDictionary(e => e.Name, e => new WeightTensor(e.Name, reshape?.Invoke(e.Name, e.Shape) ?? e.Shape, DType.F32,
            () => throw new InvalidOperationException("inference must not read values"))));

    [Theory]
    [MemberData(nameof(Sizes))]
    public void AnySizeIsInferredFromShapes(string label, object expected)
    {
        var config = (SamConfig)expected;
        var inferred = SamConfig.Infer(Synthetic(config));
        Assert.True(config.ToMetadata().OrderBy(k => k.Key).SequenceEqual(inferred.ToMetadata().OrderBy(k => k.Key)),
            $"{label}: inferred {string.Join(", ", inferred.ToMetadata())}");
    }

    [Fact]
    public void MissingExtraAndMisshapedKeysAreNamed()
    {
        var c = Official(768, 12, 12, [2, 5, 8, 11]);
        var tensors = Synthetic(c).Tensors.ToDictionary();
        tensors.Remove("mask_decoder.transformer.layers.1.norm3.bias");
        tensors.Remove("image_encoder.blocks.4.mlp.lin2.weight");
        tensors["pixel_mean"] = new WeightTensor("pixel_mean", [3, 1, 1], DType.F32, () => [0, 0, 0]);
        tensors["image_encoder.neck.1.bias"] = new WeightTensor("image_encoder.neck.1.bias", [255], DType.F32, () => new float[255]);
        var e = Assert.Throws<CheckpointException>(() => SamConfig.Infer(new StateDict(tensors)));
        Assert.Contains("missing 'image_encoder.blocks.4.mlp.lin2.weight', 'mask_decoder.transformer.layers.1.norm3.bias'", e.Message);
        Assert.Contains("unexpected 'pixel_mean'", e.Message);
        Assert.Contains("misshaped 'image_encoder.neck.1.bias' [255] (expected [256])", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void WindowSizesMustAgree()
    {
        var c = Official(768, 12, 12, [2, 5, 8, 11]);
        var sd = Synthetic(c, (name, shape) => name.StartsWith("image_encoder.blocks.3.attn.rel_pos") ? [13, 64] : shape);
        Assert.Contains("disagree on the window size", Assert.Throws<CheckpointException>(() => SamConfig.Infer(sd)).Message);
    }

    [Fact]
    public void NotASamStateDictIsNamed()
    {
        var sd = new StateDict(new Dictionary<string, WeightTensor> { ["fc.weight"] = new("fc.weight", [2, 2], DType.F32, () => new float[4]) });
        Assert.Contains("no tensor 'image_encoder.patch_embed.proj.weight'", Assert.Throws<CheckpointException>(() => SamConfig.Infer(sd)).Message);
    }

    [Fact]
    public void NonFiniteWeightsAreFound()
    {
        var sd = new StateDict(new Dictionary<string, WeightTensor>
        {
            ["a"] = new("a", [4], DType.F32, () => [1, float.NaN, float.PositiveInfinity, 2]),
            ["b"] = new("b", [2], DType.F16, () => [1, 2]),
            ["c"] = new("c", [2], DType.BF16, () => [float.NegativeInfinity, 0]),
        });
        Assert.Equal([("a", 2L), ("c", 1L)], sd.FindNonFinite());
    }
}
