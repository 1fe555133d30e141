using SamEngine.Engine;

namespace SamEngine.Model;

/// <summary>
/// SAM's image encoder: PatchEmbed + absolute position embedding, a stack of ViT blocks
/// (windowed, with a few global ones), and the neck → image embedding [B, out, H/16, W/16].
/// </summary>
internal sealed class ImageEncoderViT
{
    readonly PatchEmbed patchEmbed;
    readonly Block[] blocks;
    readonly Neck neck;

    public ImageEncoderViT(EncoderWeights weights)
    {
        var cfg = weights.Config;
        Config = cfg;
        patchEmbed = new PatchEmbed(weights.PatchEmbedWeight, weights.PatchEmbedBias, weights.PosEmbed, cfg.PatchSize);
        blocks = new Block[cfg.Depth];
        for (int i = 0; i < cfg.Depth; i++)
            blocks[i] = new Block(weights.Blocks[i], cfg.NumHeads, cfg.BlockWindow(i), cfg.LayerNormEps);
        neck = new Neck(weights.Neck, cfg.LayerNormEps);
    }

    public ImageEncoderConfig Config { get; }

    /// <summary>
    /// image [B, 3, img, img] (preprocessed) → a new tensor [B, out, grid, grid] owned by the
    /// caller. <paramref name="observe"/>, when given, sees the channels-last activations after
    /// "patch_embed" and after each "blockNN" (for verification against the reference's).
    /// </summary>
    public Tensor Forward(Tensor image, Action<string, Tensor>? observe = null)
    {
        var cfg = Config;
        int b = image.Dim(0), g = cfg.GridSize;
        if (image.Rank != 4 || image.Dim(1) != ImageEncoderConfig.InChans || image.Dim(2) != cfg.ImgSize || image.Dim(3) != cfg.ImgSize)
            throw new ArgumentException($"image encoder: input {image.ShapeString} is not [B×3×{cfg.ImgSize}×{cfg.ImgSize}]");
        using var _ = Profiler.Stage("encoder");
        var embedding = Tensor.Empty(image.Device, b, cfg.OutChans, g, g);
        try
        {
            using var x = Tensor.Empty(image.Device, b, g, g, cfg.EmbedDim);
            patchEmbed.Forward(image, x);
            observe?.Invoke("patch_embed", x);
            for (int i = 0; i < blocks.Length; i++)
            {
                string name = $"block{i:D2}";
                using (Profiler.Stage(name)) blocks[i].Forward(x);
                observe?.Invoke(name, x);
            }
            neck.Forward(x, embedding);
            return embedding;
        }
        catch
        {
            embedding.Dispose();
            throw;
        }
    }
}
