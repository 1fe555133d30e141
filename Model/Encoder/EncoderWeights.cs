using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>The weights of one encoder Attention; RelPosH/RelPosW are already gathered per (query, key) pair.</summary>
internal sealed record AttentionWeights(Tensor Qkv, Tensor? QkvBias, Tensor Proj, Tensor ProjBias, Tensor RelPosH, Tensor RelPosW);

internal sealed record MlpWeights(Tensor Lin1, Tensor Lin1Bias, Tensor Lin2, Tensor Lin2Bias);

internal sealed record BlockWeights(Tensor Norm1Weight, Tensor Norm1Bias, AttentionWeights Attn, Tensor Norm2Weight, Tensor Norm2Bias, MlpWeights Mlp);

/// <summary>neck.0 (1×1 conv), neck.1 (LayerNorm2d), neck.2 (3×3 conv), neck.3 (LayerNorm2d), as the reference's nn.Sequential.</summary>
internal sealed record NeckWeights(Tensor Conv1, Tensor Norm1Weight, Tensor Norm1Bias, Tensor Conv2, Tensor Norm2Weight, Tensor Norm2Bias)
{
    /// <summary>image_encoder.neck.* from <paramref name="inChans"/> to <paramref name="outChans"/> channels (SAM's and MobileSAM's alike).</summary>
    public static NeckWeights Load(DeviceWeights store, int inChans, int outChans)
    {
        const string N = EncoderWeights.Prefix + "neck.";
        int o = outChans;
        return new NeckWeights(store.Get(N + "0.weight", o, inChans, 1, 1), store.Get(N + "1.weight", o), store.Get(N + "1.bias", o),
            store.Get(N + "2.weight", o, o, 3, 3), store.Get(N + "3.weight", o), store.Get(N + "3.bias", o));
    }
}

/// <summary>
/// The image encoder's weights on one device, under the official key names (image_encoder.*).
/// Uploaded once; the relative-position tables are expanded by get_rel_pos here, at load,
/// because they depend only on the weights and the window size.
/// </summary>
internal sealed class EncoderWeights : IDisposable
{
    public const string Prefix = "image_encoder.";

    readonly DeviceWeights store;

    EncoderWeights(DeviceWeights store, ImageEncoderConfig config, Tensor patchEmbedWeight, Tensor patchEmbedBias, Tensor? posEmbed,
        BlockWeights[] blocks, NeckWeights neck)
    {
        this.store = store;
        Config = config;
        PatchEmbedWeight = patchEmbedWeight;
        PatchEmbedBias = patchEmbedBias;
        PosEmbed = posEmbed;
        Blocks = blocks;
        Neck = neck;
    }

    public ImageEncoderConfig Config { get; }
    public Tensor PatchEmbedWeight { get; }
    public Tensor PatchEmbedBias { get; }
    /// <summary>The absolute position embedding [1, grid, grid, C]; null for a model built with use_abs_pos=False.</summary>
    public Tensor? PosEmbed { get; }
    public IReadOnlyList<BlockWeights> Blocks { get; }
    public NeckWeights Neck { get; }
    public Device Device => store.Device;
    public long Bytes => store.Bytes;

    public static EncoderWeights Load(StateDict stateDict, ImageEncoderConfig config, Device device)
    {
        var store = new DeviceWeights(stateDict, device);
        try
        {
            int c = config.EmbedDim, p = config.PatchSize, g = config.GridSize, o = config.OutChans;
            var patchW = store.Get(Prefix + "patch_embed.proj.weight", c, ImageEncoderConfig.InChans, p, p);
            var patchB = store.Get(Prefix + "patch_embed.proj.bias", c);
            var pos = config.UseAbsPos ? store.Get(Prefix + "pos_embed", 1, g, g, c) : null;
            var blocks = new BlockWeights[config.Depth];
            for (int i = 0; i < config.Depth; i++) blocks[i] = LoadBlock(store, config, i);
            var neck = NeckWeights.Load(store, c, o);
            return new EncoderWeights(store, config, patchW, patchB, pos, blocks, neck);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    static BlockWeights LoadBlock(DeviceWeights store, ImageEncoderConfig config, int index)
    {
        string key = $"{Prefix}blocks.{index}.";
        int c = config.EmbedDim, hd = config.HeadDim, m = config.MlpDim;
        // A windowed block attends within window×window tokens, a global one over the whole grid.
        int window = config.BlockWindow(index);
        int size = window > 0 ? window : config.GridSize;
        var attn = new AttentionWeights(
            store.Get(key + "attn.qkv.weight", 3 * c, c), config.QkvBias ? store.Get(key + "attn.qkv.bias", 3 * c) : null,
            store.Get(key + "attn.proj.weight", c, c), store.Get(key + "attn.proj.bias", c),
            RelPos(store, key + "attn.rel_pos_h", size, hd), RelPos(store, key + "attn.rel_pos_w", size, hd));
        var mlp = new MlpWeights(
            store.Get(key + "mlp.lin1.weight", m, c), store.Get(key + "mlp.lin1.bias", m),
            store.Get(key + "mlp.lin2.weight", c, m), store.Get(key + "mlp.lin2.bias", c));
        return new BlockWeights(
            store.Get(key + "norm1.weight", c), store.Get(key + "norm1.bias", c), attn,
            store.Get(key + "norm2.weight", c), store.Get(key + "norm2.bias", c), mlp);
    }

    /// <summary>get_rel_pos for query and key size <paramref name="size"/>: table [2·size−1, hd] → [size, size, hd].</summary>
    static Tensor RelPos(DeviceWeights store, string key, int size, int headDim)
    {
        var table = store.Get(key, 2 * size - 1, headDim);
        var rel = store.Keep(Tensor.Empty(store.Device, size, size, headDim));
        RelativePosition.GetRelPos(table, size, size, rel);
        store.Release(table);
        return rel;
    }

    public void Dispose() => store.Dispose();
}
