using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// MobileSAM's image encoder, TinyViT (tiny_vit_sam.py): a two-convolution patch embedding
/// (stride 4), a convolutional first stage of <see cref="MBConv"/> blocks, stages of
/// <see cref="TinyViTBlock"/>s, a <see cref="PatchMerging"/> after every stage but the last, then
/// SAM's neck on the last stage's 64×64 grid → image embedding [B, out, 64, 64].
/// </summary>
internal sealed class TinyViT : IDisposable
{
    readonly DeviceWeights store;
    readonly ConvBn patchEmbed1, patchEmbed2;
    readonly MBConv[] convBlocks;
    readonly TinyViTBlock[][] blocks;
    readonly PatchMerging[] merging;
    readonly Neck neck;

    TinyViT(DeviceWeights store, TinyViTConfig config, ConvBn patchEmbed1, ConvBn patchEmbed2, MBConv[] convBlocks, TinyViTBlock[][] blocks,
        PatchMerging[] merging, Neck neck)
    {
        this.store = store;
        Config = config;
        this.patchEmbed1 = patchEmbed1;
        this.patchEmbed2 = patchEmbed2;
        this.convBlocks = convBlocks;
        this.blocks = blocks;
        this.merging = merging;
        this.neck = neck;
    }

    public TinyViTConfig Config { get; }

    /// <summary>Uploads the encoder's weights (BatchNorms folded, bias tables spread) to a device.</summary>
    public static TinyViT Load(StateDict stateDict, TinyViTConfig cfg, Device device)
    {
        var store = new DeviceWeights(stateDict, device);
        try
        {
            const string E = TinyViTConfig.Prefix;
            int c0 = cfg.EmbedDims[0], o = cfg.OutChans, last = cfg.EmbedDims[^1];
            var pe1 = ConvBn.Load(store, E + "patch_embed.seq.0", c0 / 2, 3, 3, 2, 1);
            var pe2 = ConvBn.Load(store, E + "patch_embed.seq.2", c0, c0 / 2, 3, 2, 1);
            var convBlocks = Enumerable.Range(0, cfg.Depths[0]).Select(j => MBConv.Load(store, $"{E}layers.0.blocks.{j}", c0, cfg.HiddenDims[0])).ToArray();
            var blocks = Enumerable.Range(0, cfg.Stages).Select(i => i == 0 ? [] :
                Enumerable.Range(0, cfg.Depths[i]).Select(j => TinyViTBlock.Load(store, $"{E}layers.{i}.blocks.{j}", cfg, i)).ToArray()).ToArray();
            var merging = Enumerable.Range(0, cfg.Stages - 1).Select(i =>
                PatchMerging.Load(store, $"{E}layers.{i}.downsample", cfg.EmbedDims[i], cfg.EmbedDims[i + 1], cfg.MergingStride(i))).ToArray();
            var neck = new Neck(NeckWeights.Load(store, last, o), NeckEps);
            return new TinyViT(store, cfg, pe1, pe2, convBlocks, blocks, merging, neck);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The neck's LayerNorm2d eps, as in SAM's neck.</summary>
    const float NeckEps = 1e-6f;

    /// <summary>
    /// image [B, 3, img, img] (preprocessed) → a new [B, out, 64, 64] owned by the caller.
    /// <paramref name="observe"/> sees the channels-last activations after "patch_embed" and after each stage, "layerN".
    /// </summary>
    public Tensor Forward(Tensor image, Action<string, Tensor>? observe = null)
    {
        var cfg = Config;
        var device = image.Device;
        int b = image.Dim(0), img = cfg.ImageSize, r = cfg.Resolution(0), c0 = cfg.EmbedDims[0];
        if (image.Rank != 4 || image.Dim(1) != ImageEncoderConfig.InChans || image.Dim(2) != img || image.Dim(3) != img)
            throw new ArgumentException($"image encoder: input {image.ShapeString} is not [B×3×{img}×{img}]");
        using var _ = Profiler.Stage("encoder");

        var tokens = Tensor.Empty(device, b, r, r, c0);
        try
        {
            using (Profiler.Stage("patch_embed"))
            using (var half = Tensor.Empty(device, b, c0 / 2, patchEmbed1.OutputSize(img), patchEmbed1.OutputSize(img)))
            using (var map = Tensor.Empty(device, b, c0, r, r))
            {
                patchEmbed1.Conv(image, half);
                Gelu.Forward(half, half);
                patchEmbed2.Conv(half, map);
                Permute.Forward(map, [0, 2, 3, 1], tokens);
            }
            observe?.Invoke("patch_embed", tokens);

            for (int i = 0; i < cfg.Stages; i++)
            {
                using (Profiler.Stage($"layer{i}"))
                {
                    if (i == 0) foreach (var block in convBlocks) block.Forward(tokens);
                    else foreach (var block in blocks[i]) block.Forward(tokens);
                    if (i < merging.Length)
                    {
                        var merged = merging[i].Forward(tokens);
                        tokens.Dispose();
                        tokens = merged;
                    }
                }
                observe?.Invoke($"layer{i}", tokens);
            }
            int g = TinyViTConfig.EmbeddingGrid;
            if (tokens.Dim(1) != g || tokens.Dim(2) != g)
                throw new SamException($"MobileSAM encoder: the last stage is {tokens.Dim(1)}×{tokens.Dim(2)}, the neck needs {g}×{g}");
            var embedding = Tensor.Empty(device, b, cfg.OutChans, g, g);
            try
            {
                neck.Forward(tokens, embedding);
            }
            catch
            {
                embedding.Dispose();
                throw;
            }
            return embedding;
        }
        finally
        {
            tokens.Dispose();
        }
    }

    public void Dispose() => store.Dispose();
}
