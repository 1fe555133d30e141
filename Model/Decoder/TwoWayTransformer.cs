using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// transformer.py's TwoWayTransformer: the prompt tokens and the image tokens update each other
/// through <see cref="TwoWayAttentionBlock"/>s (as many as the checkpoint holds), then a final
/// token→image attention and LayerNorm. Works token-major: the image is [Bk, HW, C].
/// </summary>
internal sealed class TwoWayTransformer : IDisposable
{
    readonly TwoWayAttentionBlock[] layers;
    readonly DecoderAttention finalAttnTokenToImage;
    readonly PromptDecoderWeights.NormParams normFinalAttn;

    internal TwoWayTransformer(PromptDecoderWeights w, int numHeads)
    {
        Depth = w.Count("layers");
        if (Depth == 0) throw new SamException("checkpoint's mask decoder transformer has no layers");
        layers = Enumerable.Range(0, Depth).Select(i => new TwoWayAttentionBlock(w.Scope($"layers.{i}"), numHeads, skipFirstLayerPe: i == 0)).ToArray();
        finalAttnTokenToImage = new DecoderAttention(w.Scope("final_attn_token_to_image"), numHeads);
        normFinalAttn = w.Norm("norm_final_attn");
    }

    public int Depth { get; }

    /// <summary>
    /// The first block's projections of an image [1, HW, C] shared by all prompts, which no prompt
    /// changes (see <see cref="TwoWayAttentionBlock.ImageProjections"/>).
    /// </summary>
    internal TwoWayAttentionBlock.ImageProjections ProjectImage(Tensor image, Tensor imagePe) => layers[0].ProjectImage(image, imagePe);

    /// <summary>
    /// image [Bk, HW, C] (Bk = 1: one image shared by all prompts), imagePe [HW, C], tokens
    /// [B, T, C]; firstLayer, when given, is <see cref="ProjectImage"/> of this image. Returns the
    /// processed tokens [B, T', C] and image [B, HW, C] (caller owns both): T' = outputTokens,
    /// the leading tokens the caller reads (all T when not given).
    /// </summary>
    public (Tensor Queries, Tensor Keys) Forward(Tensor image, Tensor imagePe, Tensor tokens,
        TwoWayAttentionBlock.ImageProjections? firstLayer = null, int? outputTokens = null)
    {
        var device = tokens.Device;
        Tensor queries = tokens, keys = image;
        for (int i = 0; i < layers.Length; i++)
        {
            using var _ = Profiler.Stage($"layer{i}");
            var (nextQueries, nextKeys) = layers[i].Forward(queries, keys, tokens, imagePe, i == 0 ? firstLayer : null);
            if (queries != tokens) queries.Dispose();
            if (keys != image) keys.Dispose();
            (queries, keys) = (nextQueries, nextKeys);
        }

        // The final attention and norm act on each token alone, so tokens nobody reads (the
        // prompt tokens: the mask decoder reads the IoU and mask tokens) are left out.
        using var stage = Profiler.Stage("final_attn");
        using (var all = queries)
            queries = LeadingTokens(all, outputTokens ?? all.Dim(1));
        using var pointEmbedding = LeadingTokens(tokens, queries.Dim(1));
        using var q = Tensor.Empty(device, queries.Shape);
        using var sum = Tensor.Empty(device, queries.Shape);
        Add.Forward(queries, pointEmbedding, q);
        finalAttnTokenToImage.TokenToImage(q, keys, imagePe, sum, residual: queries);
        var output = Tensor.Empty(device, queries.Shape);
        normFinalAttn.Forward(sum, output, TwoWayAttentionBlock.LayerNormEps);
        queries.Dispose();
        return (output, keys);
    }

    /// <summary>A copy of the first n tokens of each prompt of x [B, T, C]: [B, n, C].</summary>
    static Tensor LeadingTokens(Tensor x, int n)
    {
        int b = x.Dim(0), t = x.Dim(1), c = x.Dim(2);
        if (n < 1 || n > t) throw new ArgumentException($"two-way transformer: {n} output tokens of {t}");
        var leading = Tensor.Empty(x.Device, b, n, c);
        if (b == 1 || n == t) Permute.Forward(x.Reshape(b * t, c).Slice(0, b * n).Reshape(b, n, c), [0, 1, 2], leading);
        else
        {
            using var tokenMajor = Tensor.Empty(x.Device, t, b, c);
            Permute.Forward(x, [1, 0, 2], tokenMajor);
            Permute.Forward(tokenMajor.Slice(0, n), [1, 0, 2], leading);
        }
        return leading;
    }

    public void Dispose()
    {
        foreach (var l in layers) l.Dispose();
        finalAttnTokenToImage.Dispose();
        normFinalAttn.Dispose();
    }
}
