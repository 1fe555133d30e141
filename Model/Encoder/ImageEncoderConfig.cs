using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SamEngine.Engine;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// The hyper-parameters of SAM's ImageEncoderViT, or of MobileSAM's TinyViT (<see cref="TinyViT"/>;
/// the ViT parameters are then 0 and empty), as read from a checkpoint. Nothing here is fixed to
/// ViT-B/L/H or vit_t: the reference fixtures use non-standard sizes.
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

    /// <summary>MobileSAM's encoder; null for ViT.</summary>
    public TinyViTConfig? TinyViT { get; init; }

    /// <summary>What the encoder reports progress in: the patch embedding, then each ViT block or TinyViT stage.</summary>
    public int Steps => 1 + (TinyViT?.Stages ?? Depth);

    /// <summary>"ViT width 768, depth 12" or "MobileSAM TinyViT widths [64, 128, 160, 320]", for one line of output.</summary>
    public string Name => TinyViT is { } t ? $"MobileSAM TinyViT widths [{string.Join(", ", t.EmbedDims)}]" : $"ViT width {EmbedDim}, depth {Depth}";

    /// <summary>Tokens per side after patch embedding (64 for 1024 / 16).</summary>
    public int GridSize => ImgSize / PatchSize;

    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>The window of block <paramref name="index"/>: 0 for global attention, as the reference's Block.</summary>
    public int BlockWindow(int index) => GlobalAttnIndexes.Contains(index) ? 0 : WindowSize;

    /// <summary>The encoder part of a checkpoint's configuration.</summary>
    public static ImageEncoderConfig Of(SamConfig c) => c.TinyViT is { } t ? Of(t) : new(
        c.ImageSize, c.PatchSize, c.EncoderEmbedDim, c.EncoderDepth, c.EncoderNumHeads, c.EncoderMlpDim, c.WindowSize,
        c.EncoderGlobalAttnIndexes, c.OutChans, c.UseAbsPos, c.QkvBias);

    /// <summary>MobileSAM's encoder: image size, embedding stride and channels shared with ViT, the rest in <see cref="TinyViT"/>.</summary>
    public static ImageEncoderConfig Of(TinyViTConfig t) =>
        new(t.ImageSize, t.ImageSize / TinyViTConfig.EmbeddingGrid, 0, 0, 0, 0, 0, [], t.OutChans, UseAbsPos: false, QkvBias: false) { TinyViT = t };

    /// <summary>The hyper-parameters under the reference's argument names.</summary>
    public JsonObject ToJson() => TinyViT is { } t ? TinyViTJson(t) : new()
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

    static JsonObject TinyViTJson(TinyViTConfig t)
    {
        static JsonArray List(IEnumerable<int> v) => new(v.Select(i => (JsonNode)i).ToArray());
        return new()
        {
            ["encoder"] = "tiny_vit",
            ["img_size"] = t.ImageSize,
            ["embed_dims"] = List(t.EmbedDims),
            ["depths"] = List(t.Depths),
            ["num_heads"] = List(t.NumHeads),
            ["window_sizes"] = List(t.WindowSizes),
            ["hidden_dims"] = List(t.HiddenDims),
            ["local_conv_size"] = t.LocalConvSize,
            ["out_chans"] = t.OutChans,
        };
    }

    public static ImageEncoderConfig FromJson(JsonNode json)
    {
        int Int(string key) => (int?)json[key] ?? throw new SamException($"encoder config has no integer '{key}'");
        int[] Ints(string key) => (json[key] as JsonArray ?? throw new SamException($"encoder config has no list '{key}'")).Select(i => (int)i!).ToArray();
        if ((string?)json["encoder"] == "tiny_vit")
            return Of(new TinyViTConfig
            {
                EmbedDims = Ints("embed_dims"), Depths = Ints("depths"), NumHeads = Ints("num_heads"), WindowSizes = Ints("window_sizes"),
                HiddenDims = Ints("hidden_dims"), LocalConvSize = Int("local_conv_size"), OutChans = Int("out_chans"),
            });
        var global = json["global_attn_indexes"] as JsonArray ?? throw new SamException("encoder config has no 'global_attn_indexes'");
        return new(Int("img_size"), Int("patch_size"), Int("embed_dim"), Int("depth"), Int("num_heads"), Int("mlp_dim"), Int("window_size"),
            global.Select(i => (int)i!).ToArray(), Int("out_chans"),
            (bool?)json["use_abs_pos"] ?? true, (bool?)json["qkv_bias"] ?? true, (float?)json["layer_norm_eps"] ?? 1e-6f);
    }

    /// <summary>"sha256:…" of the canonical hyper-parameters: equal exactly when two encoders have the same shape.</summary>
    public string Digest => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson().ToJsonString())));

    public override string ToString() => TinyViT is { } t ? $"MobileSAM {t.Summary()}, neck {OutChans}" :
        $"ViT width {EmbedDim}, depth {Depth}, {NumHeads} heads, window {WindowSize}, global blocks [{string.Join(",", GlobalAttnIndexes)}], " +
        $"patch {PatchSize}, image {ImgSize}, neck {OutChans}";
}
