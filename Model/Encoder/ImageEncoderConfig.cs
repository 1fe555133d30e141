using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SamEngine.Engine;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// The hyper-parameters of SAM's ImageEncoderViT, as read from a checkpoint. Nothing here is
/// fixed to ViT-B/L/H: the reference fixtures use a non-standard width, depth and head count.
/// </summary>
internal sealed record ImageEncoderConfig(
    int ImgSize,
    int PatchSize,
    int EmbedDim,
    int Depth,
    int NumHeads,
    int MlpDim,
    int WindowSize,
    IReadOnlyList<int> GlobalAttnIndexes,
    int OutChans,
    bool UseAbsPos = true,
    bool QkvBias = true,
    float LayerNormEps = 1e-6f)
{
    public const int InChans = 3;

    /// <summary>Tokens per side after patch embedding (64 for 1024 / 16).</summary>
    public int GridSize => ImgSize / PatchSize;

    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>The window of block <paramref name="index"/>: 0 for global attention, as the reference's Block.</summary>
    public int BlockWindow(int index) => GlobalAttnIndexes.Contains(index) ? 0 : WindowSize;

    /// <summary>The encoder part of a checkpoint's configuration.</summary>
    public static ImageEncoderConfig Of(SamConfig c) => new(
        c.ImageSize, c.PatchSize, c.EncoderEmbedDim, c.EncoderDepth, c.EncoderNumHeads, c.EncoderMlpDim, c.WindowSize,
        c.EncoderGlobalAttnIndexes, c.OutChans, c.UseAbsPos, c.QkvBias);

    /// <summary>The encoder of an official size (for random-weight demos and benchmarks).</summary>
    public static ImageEncoderConfig Of(SamArchitecture arch) => new(
        arch.ImageSize, SamArchitecture.PatchSize, arch.EmbedDim, arch.Depth, arch.NumHeads,
        SamArchitecture.MlpRatio * arch.EmbedDim, SamArchitecture.WindowSize, arch.GlobalAttnIndexes, SamArchitecture.OutChans);

    /// <summary>The hyper-parameters under the reference's argument names.</summary>
    public JsonObject ToJson() => new()
    {
        ["img_size"] = ImgSize,
        ["patch_size"] = PatchSize,
        ["embed_dim"] = EmbedDim,
        ["depth"] = Depth,
        ["num_heads"] = NumHeads,
        ["mlp_dim"] = MlpDim,
        ["window_size"] = WindowSize,
        ["global_attn_indexes"] = new JsonArray(GlobalAttnIndexes.Select(i => (JsonNode)i).ToArray()),
        ["out_chans"] = OutChans,
        ["use_abs_pos"] = UseAbsPos,
        ["qkv_bias"] = QkvBias,
        ["layer_norm_eps"] = LayerNormEps,
    };

    public static ImageEncoderConfig FromJson(JsonNode json)
    {
        int Int(string key) => (int?)json[key] ?? throw new SamException($"encoder config has no integer '{key}'");
        var global = json["global_attn_indexes"] as JsonArray ?? throw new SamException("encoder config has no 'global_attn_indexes'");
        return new(Int("img_size"), Int("patch_size"), Int("embed_dim"), Int("depth"), Int("num_heads"), Int("mlp_dim"), Int("window_size"),
            global.Select(i => (int)i!).ToArray(), Int("out_chans"),
            (bool?)json["use_abs_pos"] ?? true, (bool?)json["qkv_bias"] ?? true, (float?)json["layer_norm_eps"] ?? 1e-6f);
    }

    /// <summary>"sha256:…" of the canonical hyper-parameters: equal exactly when two encoders have the same shape.</summary>
    public string Digest => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson().ToJsonString())));

    public override string ToString() =>
        $"ViT width {EmbedDim}, depth {Depth}, {NumHeads} heads, window {WindowSize}, global blocks [{string.Join(",", GlobalAttnIndexes)}], " +
        $"patch {PatchSize}, image {ImgSize}, neck {OutChans}";
}
