using SamEngine.Engine;

namespace SamEngine.Model;

/// <summary>
/// The mask decoder's work that depends on the image alone, done once per image and reused by
/// every prompt without a mask input (the reference redoes it per prompt): src = image +
/// no_mask_embed, the same for all those prompts, and the first transformer block's projections
/// of it (<see cref="TwoWayAttentionBlock.ImageProjections"/>). Made by
/// <see cref="MaskDecoder.CacheImage"/>; <see cref="SamPredictor"/> keeps one per image and drops
/// it with the image.
/// </summary>
internal sealed class DecoderImageCache : IDisposable
{
    readonly Tensor image, imagePe, noMaskEmbed;

    internal DecoderImageCache(Tensor image, Tensor imagePe, Tensor noMaskEmbed, Tensor src, TwoWayAttentionBlock.ImageProjections firstLayer)
    {
        (this.image, this.imagePe, this.noMaskEmbed) = (image, imagePe, noMaskEmbed);
        Src = src;
        FirstLayer = firstLayer;
    }

    /// <summary>image + no_mask_embed, [1, HW, C].</summary>
    public Tensor Src { get; }
    public TwoWayAttentionBlock.ImageProjections FirstLayer { get; }

    /// <summary>Whether it was made from these very tensors: a cache that outlived its image must fail, not answer.</summary>
    public bool IsOf(Tensor image, Tensor imagePe, Tensor noMaskEmbed) =>
        ReferenceEquals(image, this.image) && ReferenceEquals(imagePe, this.imagePe) && ReferenceEquals(noMaskEmbed, this.noMaskEmbed);

    public void Dispose()
    {
        Src.Dispose();
        FirstLayer.Dispose();
    }
}
