using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// mask_decoder.py's MaskDecoder: the IoU token and the mask tokens are prepended to the prompt
/// tokens, the <see cref="TwoWayTransformer"/> runs them against the image, the image is upscaled
/// 4× (ConvTranspose2d, LayerNorm2d, GELU, ConvTranspose2d, GELU), and each mask token's
/// hypernetwork MLP gives the weights that turn the upscaled channels into that mask's logits;
/// the IoU head predicts each mask's quality. B prompts run in one pass.
/// </summary>
internal sealed class MaskDecoder : IDisposable
{
    const float LayerNorm2dEps = 1e-6f;

    readonly float[] outputTokens;   // iou_token then mask_tokens, [1 + M, C]
    readonly TwoWayTransformer transformer;
    readonly Tensor upscale1W, upscale1B, upscale2W, upscale2B;
    readonly PromptDecoderWeights.NormParams upscaleNorm;
    readonly Mlp[] outputHypernetworksMlps;
    readonly Mlp iouPredictionHead;

    public MaskDecoder(StateDict weights, Device device, int numHeads = SamConfig.OfficialDecoderHeads)
    {
        var w = new PromptDecoderWeights(weights, device, "mask_decoder.");
        var maskTokens = w.Shape("mask_tokens.weight");
        if (maskTokens.Length != 2 || maskTokens[0] < 2) throw new SamException($"checkpoint mask_tokens is {Tensor.ShapeText(maskTokens)}, not [1 + multimask outputs, C]");
        NumMaskTokens = maskTokens[0];
        TransformerDim = maskTokens[1];
        int c = TransformerDim;
        outputTokens = [.. w.Host("iou_token.weight", 1, c), .. w.Host("mask_tokens.weight", NumMaskTokens, c)];
        transformer = new TwoWayTransformer(w.Scope("transformer"), numHeads);
        var up1 = w.Shape("output_upscaling.0.weight");
        var up2 = w.Shape("output_upscaling.3.weight");
        upscale1W = w.Upload("output_upscaling.0.weight", c, up1[1], 2, 2);
        upscale1B = w.Upload("output_upscaling.0.bias", up1[1]);
        upscaleNorm = w.Norm("output_upscaling.1");
        upscale2W = w.Upload("output_upscaling.3.weight", up1[1], up2[1], 2, 2);
        upscale2B = w.Upload("output_upscaling.3.bias", up2[1]);
        UpscaledChannels = up2[1];
        outputHypernetworksMlps = Enumerable.Range(0, NumMaskTokens).Select(i => new Mlp(w.Scope($"output_hypernetworks_mlps.{i}"))).ToArray();
        if (outputHypernetworksMlps.Any(m => m.InputDim != c || m.OutputDim != UpscaledChannels))
            throw new SamException($"checkpoint hypernetwork MLPs do not map {c} to {UpscaledChannels} channels");
        iouPredictionHead = new Mlp(w.Scope("iou_prediction_head"));
        if (iouPredictionHead.OutputDim != NumMaskTokens) throw new SamException($"checkpoint IoU head predicts {iouPredictionHead.OutputDim} scores for {NumMaskTokens} masks");
    }

    public int TransformerDim { get; }
    /// <summary>1 + the number of multimask outputs (4 in SAM).</summary>
    public int NumMaskTokens { get; }
    public int UpscaledChannels { get; }
    public int TransformerDepth => transformer.Depth;

    /// <summary>
    /// Predicts masks for B prompts of one image.
    /// </summary>
    /// <param name="image">the image embedding, token-major [HW, C] (see <see cref="ToTokens"/>).</param>
    /// <param name="gridSize">the embedding's (h, w).</param>
    /// <param name="imagePe">the dense positional encoding, [HW, C].</param>
    /// <param name="sparse">the sparse prompt embeddings on the host, B×N×C.</param>
    /// <param name="dense">the dense prompt embeddings, [B, C, h, w], or [C] for one vector at every cell of every prompt (no mask).</param>
    /// <param name="imageCache">with [C] dense: <see cref="CacheImage"/> of this image, PE and vector, kept by the caller across calls (made for this call when absent).</param>
    /// <param name="upscaleAboveIou">when given, only prompts with a selected mask whose predicted IoU is above it get
    /// their masks computed; the others' logits are −∞. For a caller that drops every mask at or below that IoU unseen
    /// (the automatic mask generator's pred_iou_thresh), the output upscaling, half of a prompt's work, is not spent on them.</param>
    /// <returns>low-resolution mask logits [B, C', 4h, 4w] and the IoU predictions B×C' (C' = 3 with multimask, else 1).</returns>
    public (Tensor LowResLogits, float[] IouPredictions) Forward(Tensor image, (int H, int W) gridSize, Tensor imagePe,
        float[] sparse, int batch, Tensor dense, bool multimaskOutput, DecoderImageCache? imageCache = null, float? upscaleAboveIou = null)
    {
        var device = image.Device;
        int c = TransformerDim, hw = gridSize.H * gridSize.W, b = batch;
        if (image.Length != (long)hw * c || imagePe.Length != image.Length)
            throw new ArgumentException($"mask decoder: image {image.ShapeString} and PE {imagePe.ShapeString} are not [{hw}, {c}]");
        if (sparse.Length % (b * c) != 0) throw new ArgumentException($"mask decoder: {sparse.Length} sparse values are not {b}×N×{c}");
        int n = sparse.Length / (b * c), t = 1 + NumMaskTokens + n;

        // Tokens: [iou, masks..., prompt tokens] for every prompt.
        var tokensHost = new float[(long)b * t * c];
        for (int i = 0; i < b; i++)
        {
            outputTokens.CopyTo(tokensHost.AsSpan(i * t * c));
            sparse.AsSpan(i * n * c, n * c).CopyTo(tokensHost.AsSpan(i * t * c + outputTokens.Length));
        }
        using var tokens = Tensor.FromArray(device, tokensHost, b, t, c);

        // hs: the IoU and mask tokens only, [B, 1 + M, C]; keys: the image, [B, HW, C].
        Tensor hs, keys;
        using (Profiler.Stage("transformer"))
        {
            if (dense.Rank == 1)
            {
                // Without a mask, src = image + dense is one [1, HW, C] for all prompts, and so
                // is what the first block computes from it alone: the image's cache.
                if (dense.Length != c) throw new ArgumentException($"mask decoder: dense embedding {dense.ShapeString} is not [{c}]");
                if (imageCache != null && !imageCache.IsOf(image, imagePe, dense))
                    throw new ArgumentException("mask decoder: the image cache was made for another image, PE or no-mask embedding");
                var cache = imageCache ?? CacheImage(image, imagePe, dense);
                try
                {
                    (hs, keys) = transformer.Forward(cache.Src, imagePe, tokens, cache.FirstLayer, 1 + NumMaskTokens);
                }
                finally
                {
                    if (cache != imageCache) cache.Dispose();
                }
            }
            else
            {
                if (dense.Rank != 4 || dense.Dim(0) != b || dense.Dim(1) != c || dense.Dim(2) != gridSize.H || dense.Dim(3) != gridSize.W)
                    throw new ArgumentException($"mask decoder: dense embedding {dense.ShapeString} is not [{b}, {c}, {gridSize.H}, {gridSize.W}]");
                using var src = Tensor.Empty(device, b, hw, c);
                Permute.Forward(dense.Reshape(b, c, hw), [0, 2, 1], src);
                Add.Forward(src, image, src);
                (hs, keys) = transformer.Forward(src, imagePe, tokens, outputTokens: 1 + NumMaskTokens);
            }
        }

        using var stage = Profiler.Stage("heads");
        using var tokensOut = Tensor.Empty(device, hs.Dim(1), b, c);
        using (hs) Permute.Forward(hs, [1, 0, 2], tokensOut);

        // Only the selected masks' hypernetworks run: the reference computes all and slices.
        int[] selected = multimaskOutput ? [.. Enumerable.Range(1, NumMaskTokens - 1)] : [0];
        int outputs = selected.Length;
        using var hyper = Tensor.Empty(device, outputs, b, UpscaledChannels);
        for (int j = 0; j < outputs; j++)
            outputHypernetworksMlps[selected[j]].Forward(tokensOut.Slice(1 + selected[j], 1).Reshape(b, c), hyper.Slice(j, 1).Reshape(b, UpscaledChannels));
        using var hyperIn = Tensor.Empty(device, b, outputs, UpscaledChannels);
        Permute.Forward(hyper, [1, 0, 2], hyperIn);

        using var iou = Tensor.Empty(device, b, NumMaskTokens);
        iouPredictionHead.Forward(tokensOut.Slice(0, 1).Reshape(b, c), iou);
        var iouAll = iou.Download();
        var iouSelected = new float[b * outputs];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < outputs; j++)
                iouSelected[i * outputs + j] = iouAll[i * NumMaskTokens + selected[j]];

        var masks = Tensor.Empty(device, b, outputs, 4 * gridSize.H, 4 * gridSize.W);
        try
        {
            using (keys) Upscale(keys, hyperIn, masks, upscaleAboveIou is float above ? UpscaledPrompts(iouSelected, outputs, above) : null);
        }
        catch
        {
            masks.Dispose();
            throw;
        }
        return (masks, iouSelected);
    }

    /// <summary>The prompts with a mask whose IoU passes `iou > above`, the comparison the generator filters by.</summary>
    static int[] UpscaledPrompts(float[] iou, int outputs, float above) =>
        [.. Enumerable.Range(0, iou.Length / outputs).Where(i => Passes(iou.AsSpan(i * outputs, outputs), above))];

    static bool Passes(ReadOnlySpan<float> iou, float above)
    {
        foreach (var v in iou) if (v > above) return true;
        return false;
    }

    /// <summary>
    /// masks [B, M, 4h, 4w] from keys [B, HW, C] and hyperIn [B, M, C2]: every prompt, or only
    /// those listed (gathered into one pass, the rest −∞).
    /// </summary>
    void Upscale(Tensor keys, Tensor hyperIn, Tensor masks, int[]? prompts)
    {
        if (prompts == null || prompts.Length == keys.Dim(0))
        {
            OutputUpscaling.Forward(keys, upscale1W, upscale1B, upscaleNorm.Weight, upscaleNorm.Bias, LayerNorm2dEps, upscale2W, upscale2B, hyperIn, masks);
            return;
        }
        masks.Fill(float.NegativeInfinity);
        if (prompts.Length == 0) return;
        var device = masks.Device;
        int n = prompts.Length;
        using var keysPart = Tensor.Empty(device, [n, .. keys.Shape[1..]]);
        using var hyperPart = Tensor.Empty(device, [n, .. hyperIn.Shape[1..]]);
        using var masksPart = Tensor.Empty(device, [n, .. masks.Shape[1..]]);
        for (int i = 0; i < n; i++)
        {
            Copy(keys.Slice(prompts[i], 1), keysPart.Slice(i, 1));
            Copy(hyperIn.Slice(prompts[i], 1), hyperPart.Slice(i, 1));
        }
        OutputUpscaling.Forward(keysPart, upscale1W, upscale1B, upscaleNorm.Weight, upscaleNorm.Bias, LayerNorm2dEps, upscale2W, upscale2B, hyperPart, masksPart);
        for (int i = 0; i < n; i++) Copy(masksPart.Slice(i, 1), masks.Slice(prompts[i], 1));
    }

    static void Copy(Tensor from, Tensor to) => Permute.Forward(from, [.. Enumerable.Range(0, from.Rank)], to);

    /// <summary>
    /// The decoder's work on an image [HW, C] that no prompt without a mask changes (see
    /// <see cref="DecoderImageCache"/>), for <see cref="Forward"/> to reuse.
    /// </summary>
    public DecoderImageCache CacheImage(Tensor image, Tensor imagePe, Tensor noMaskEmbed)
    {
        int c = TransformerDim, hw = checked((int)(image.Length / c));
        if (image.Length != (long)hw * c || imagePe.Length != image.Length || noMaskEmbed.Length != c)
            throw new ArgumentException($"mask decoder: image {image.ShapeString}, PE {imagePe.ShapeString} and no-mask embedding {noMaskEmbed.ShapeString} are not [HW, {c}] and [{c}]");
        using var _ = Profiler.Stage("image_cache");
        var src = Tensor.Empty(image.Device, 1, hw, c);
        try
        {
            Add.Forward(image, noMaskEmbed, src);
            return new DecoderImageCache(image, imagePe, noMaskEmbed, src, transformer.ProjectImage(src, imagePe));
        }
        catch
        {
            src.Dispose();
            throw;
        }
    }

    /// <summary>An image embedding [1, C, h, w] (as the encoder gives it) as the decoder's token-major [h·w, C].</summary>
    public static Tensor ToTokens(Tensor embedding)
    {
        if (embedding.Rank != 4 || embedding.Dim(0) != 1)
            throw new ArgumentException($"image embedding {embedding.ShapeString} is not [1, C, h, w]");
        int c = embedding.Dim(1), hw = embedding.Dim(2) * embedding.Dim(3);
        var tokens = Tensor.Empty(embedding.Device, hw, c);
        Permute.Forward(embedding.Reshape(c, hw), [1, 0], tokens);
        return tokens;
    }

    public void Dispose()
    {
        transformer.Dispose();
        foreach (var t in new[] { upscale1W, upscale1B, upscale2W, upscale2B }) t.Dispose();
        upscaleNorm.Dispose();
        foreach (var m in outputHypernetworksMlps) m.Dispose();
        iouPredictionHead.Dispose();
    }
}
