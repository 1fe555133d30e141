using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// transformer.py's TwoWayAttentionBlock: (1) self-attention of the tokens, (2) tokens attend to
/// the image, (3) an MLP on the tokens, (4) the image attends to the tokens; each a residual
/// followed by a LayerNorm. The positional encodings are re-added to the queries and keys of
/// every attention, except the first block's self-attention, which has none.
/// </summary>
internal sealed class TwoWayAttentionBlock : IDisposable
{
    // nn.LayerNorm's default: the decoder's norms were built without an eps argument.
    internal const float LayerNormEps = 1e-5f;

    readonly DecoderAttention selfAttn, crossAttnTokenToImage, crossAttnImageToToken;
    readonly PromptDecoderWeights.NormParams norm1, norm2, norm3, norm4;
    readonly PromptDecoderWeights.LinearParams lin1, lin2;
    readonly bool skipFirstLayerPe;

    internal TwoWayAttentionBlock(PromptDecoderWeights w, int numHeads, bool skipFirstLayerPe)
    {
        selfAttn = new DecoderAttention(w.Scope("self_attn"), numHeads);
        norm1 = w.Norm("norm1");
        crossAttnTokenToImage = new DecoderAttention(w.Scope("cross_attn_token_to_image"), numHeads);
        norm2 = w.Norm("norm2");
        lin1 = w.Linear("mlp.lin1");
        lin2 = w.Linear("mlp.lin2");
        norm3 = w.Norm("norm3");
        norm4 = w.Norm("norm4");
        crossAttnImageToToken = new DecoderAttention(w.Scope("cross_attn_image_to_token"), numHeads);
        this.skipFirstLayerPe = skipFirstLayerPe;
    }

    /// <summary>
    /// The block's image-side projections that depend on the image alone: token→image keys
    /// k_proj(image + PE) and values v_proj(image) as heads [h, 1, HW, d], image→token queries
    /// q_proj(image + PE) token-major, [1, HW, I]. For the first block without a mask
    /// input the image is the same for every prompt, so they are made once per image.
    /// </summary>
    public sealed class ImageProjections : IDisposable
    {
        internal ImageProjections(Tensor keys, Tensor values, Tensor queries) => (Keys, Values, Queries) = (keys, values, queries);

        public Tensor Keys { get; }
        public Tensor Values { get; }
        public Tensor Queries { get; }

        public void Dispose()
        {
            Keys.Dispose();
            Values.Dispose();
            Queries.Dispose();
        }
    }

    /// <summary>The <see cref="ImageProjections"/> of an image [1, HW, C] with its PE [HW, C].</summary>
    internal ImageProjections ProjectImage(Tensor keys, Tensor keyPe)
    {
        using var k = Tensor.Empty(keys.Device, keys.Shape);
        Add.Forward(keys, keyPe, k);
        var keysHeads = crossAttnTokenToImage.ProjectImageKeys(k);
        var valueHeads = crossAttnTokenToImage.ProjectImageValues(keys);
        return new(keysHeads, valueHeads, crossAttnImageToToken.ProjectImageQueries(k));
    }

    /// <summary>
    /// queries [B, T, C] and keys [Bk, HW, C] (Bk = B, or 1 while the image side is still shared
    /// by all prompts); queryPe [B, T, C], keyPe [HW, C]; projected, when given, holds this
    /// block's <see cref="ImageProjections"/> of keys (Bk = 1). Returns new queries [B, T, C] and
    /// keys [B, HW, C], which the caller owns.
    /// </summary>
    public (Tensor Queries, Tensor Keys) Forward(Tensor queries, Tensor keys, Tensor queryPe, Tensor keyPe,
        ImageProjections? projected = null)
    {
        var device = queries.Device;
        int b = queries.Dim(0), t = queries.Dim(1), c = queries.Dim(2), bk = keys.Dim(0), hw = keys.Dim(1);
        if (projected != null && bk != 1) throw new ArgumentException($"two-way block: projections of one image for keys {keys.ShapeString}");
        using var sum = Tensor.Empty(device, b, t, c);
        using var q = Tensor.Empty(device, b, t, c);

        // (1) self-attention
        if (skipFirstLayerPe) selfAttn.Forward(queries, queries, queries, sum);
        else
        {
            Add.Forward(queries, queryPe, q);
            selfAttn.Forward(q, q, queries, sum, residual: queries);
        }
        using var queries1 = Tensor.Empty(device, b, t, c);
        norm1.Forward(sum, queries1, LayerNormEps);

        // (2) tokens → image
        Add.Forward(queries1, queryPe, q);
        if (projected != null) crossAttnTokenToImage.TokenToProjectedImage(q, projected.Keys, projected.Values, sum, residual: queries1);
        else crossAttnTokenToImage.TokenToImage(q, keys, keyPe, sum, residual: queries1);
        using var queries2 = Tensor.Empty(device, b, t, c);
        norm2.Forward(sum, queries2, LayerNormEps);

        // (3) MLP
        using (var hidden = Tensor.Empty(device, b, t, lin1.Out))
        {
            lin1.Forward(queries2, hidden, Activation.Relu);
            lin2.Forward(hidden, sum, residual: queries2);
        }
        var queries3 = Tensor.Empty(device, b, t, c);
        norm3.Forward(sum, queries3, LayerNormEps);

        // (4) image → tokens, the image its own residual
        Add.Forward(queries3, queryPe, q);
        var keys4 = Tensor.Empty(device, b, hw, c);
        if (projected != null) crossAttnImageToToken.ProjectedImageToToken(projected.Queries, keys, q, queries3, norm4, LayerNormEps, keys4);
        else crossAttnImageToToken.ImageToToken(keys, keyPe, q, queries3, norm4, LayerNormEps, keys4);
        return (queries3, keys4);
    }

    public void Dispose()
    {
        selfAttn.Dispose();
        crossAttnTokenToImage.Dispose();
        crossAttnImageToToken.Dispose();
        foreach (var n in new[] { norm1, norm2, norm3, norm4 }) n.Dispose();
        lin1.Dispose();
        lin2.Dispose();
    }
}
