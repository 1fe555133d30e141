using System.Diagnostics;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Kernels;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine;

/// <summary>
/// The official SamPredictor: encode one image once (<see cref="SetImage(RgbImage)"/>), then turn
/// prompts given in original-image pixels into masks in milliseconds (<see cref="Predict"/>).
/// Coordinates go through ResizeLongestSide exactly as the reference maps them; the masks come
/// back at the original size. One predictor serves one caller at a time.
/// </summary>
public sealed partial class SamPredictor : IDisposable
{
    Tensor? embedding;   // [1, C, h, w]
    Tensor? imageTokens; // [h·w, C]
    DecoderImageCache? decoderCache; // made at the first decode without a mask, dropped with the image
    readonly StateDict weights;
    SamImageEncoder? encoder;

    /// <summary>A predictor for a model, on the model's device.</summary>
    public SamPredictor(SamModel model) : this(model.Weights, model.Config, model.Device) { }

    /// <summary>A predictor for a checkpoint; its sizes are inferred from the weights.</summary>
    internal SamPredictor(StateDict weights, Device device) : this(weights, SamConfig.Infer(weights), device) { }

    internal SamPredictor(StateDict weights, SamConfig config, Device device)
    {
        this.weights = weights;
        Device = device;
        Config = config;
        ImageSize = config.ImageSize;
        EmbeddingSize = (config.ImageEmbeddingSize, config.ImageEmbeddingSize);
        Transform = new ResizeLongestSide(ImageSize);
        PromptEncoder = new PromptEncoder(weights, device, EmbeddingSize, (ImageSize, ImageSize));
        MaskDecoder = new MaskDecoder(weights, device, config.DecoderHeads);
        if (MaskDecoder.TransformerDim != PromptEncoder.EmbedDim)
            throw new SamException($"checkpoint's prompt encoder gives {PromptEncoder.EmbedDim} channels, its mask decoder takes {MaskDecoder.TransformerDim}");
    }

    internal Device Device { get; }
    internal SamConfig Config { get; }
    /// <summary>The encoder's square input in pixels (1024 for the official models).</summary>
    public int ImageSize { get; }
    /// <summary>The embedding grid (64×64).</summary>
    internal (int H, int W) EmbeddingSize { get; }
    internal ResizeLongestSide Transform { get; }
    internal PromptEncoder PromptEncoder { get; }
    internal MaskDecoder MaskDecoder { get; }
    /// <summary>A mask pixel is set where its logit is above this (the reference's mask_threshold, 0).</summary>
    public float MaskThreshold { get; init; } = 0f;

    /// <summary>Whether an image (or an embedding) is set.</summary>
    public bool IsImageSet => embedding != null;
    /// <summary>The current image's size (height, width): the masks' size.</summary>
    public (int H, int W) OriginalSize { get; private set; }
    /// <summary>The image's size after ResizeLongestSide (before padding).</summary>
    public (int H, int W) InputSize { get; private set; }

    /// <summary>
    /// Uses a saved embedding [1, C, h, w] (C·h·w values) of an image of the given original size;
    /// the input size follows from it as ResizeLongestSide computes it.
    /// </summary>
    internal void SetEmbedding(ReadOnlySpan<float> values, int[] shape, (int H, int W) originalSize)
    {
        int c = PromptEncoder.EmbedDim;
        int[] expected = [1, c, EmbeddingSize.H, EmbeddingSize.W];
        var squeezed = shape.SkipWhile(d => d == 1).ToArray();
        if (values.Length != Tensor.Count(expected) || !squeezed.SequenceEqual(expected.Skip(1)))
            throw new SamException($"image embedding of shape {Tensor.ShapeText(shape)} does not fit this model's {Tensor.ShapeText(expected)}");
        if (originalSize.H < 1 || originalSize.W < 1) throw new SamException($"original image size {originalSize.W}×{originalSize.H} is empty");
        var inputSize = ResizeLongestSide.GetPreprocessShape(originalSize.H, originalSize.W, ImageSize);
        if (inputSize.Height < 1 || inputSize.Width < 1)
            throw new SamException($"image {originalSize.W}×{originalSize.H} is too elongated to resize to {ImageSize}");
        foreach (var v in values)
            if (!float.IsFinite(v)) throw new SamException("image embedding holds a value that is not a finite number");
        ResetImage();
        embedding = Tensor.FromArray(Device, values, expected);
        imageTokens = MaskDecoder.ToTokens(embedding);
        OriginalSize = originalSize;
        InputSize = (inputSize.Height, inputSize.Width);
    }

    /// <summary>Uses an embedding saved by <c>sam embed</c> or <see cref="GetImageEmbedding"/>, refusing one of another encoder.</summary>
    /// <exception cref="SamException">The embedding was made by another model's encoder, or does not fit this model.</exception>
    public void SetEmbedding(ImageEmbedding saved)
    {
        var ours = ImageEncoderConfig.Of(Config);
        if (saved.Config.Digest != ours.Digest)
            throw new SamException($"the embedding was made by another encoder ({saved.Config.Digest[..15]}…, this model's is {ours.Digest[..15]}…)");
        SetEmbedding(saved.Data, saved.Shape, saved.OriginalSize);
        if (InputSize != saved.InputSize)
            throw new SamException($"the embedding's input size {saved.InputSize.Height}×{saved.InputSize.Width} is not ResizeLongestSide's {InputSize.H}×{InputSize.W} for {OriginalSize.H}×{OriginalSize.W}");
    }

    /// <summary>
    /// The image encoder, uploaded on first use: a predictor fed saved embeddings never holds
    /// the encoder's weights (most of the model) on the device.
    /// </summary>
    internal SamImageEncoder Encoder => encoder ??= new SamImageEncoder(weights, ImageEncoderConfig.Of(Config), Device);

    /// <summary>The current image's embedding [1, C, h, w] on the device, as the encoder gave it.</summary>
    internal Tensor EmbeddingTensor => embedding ?? throw new InvalidOperationException("no image set: call SetImage or SetEmbedding first");

    /// <summary>
    /// The current image's embedding (get_image_embedding), with the sizes and the encoder's
    /// identity: <see cref="ImageEmbedding.Save"/> it, and a later <see cref="SetEmbedding(ImageEmbedding)"/>
    /// skips the encoder.
    /// </summary>
    public ImageEmbedding GetImageEmbedding()
    {
        var t = EmbeddingTensor;
        return new ImageEmbedding(t.Download(), [.. t.Shape], OriginalSize, InputSize, ImageEncoderConfig.Of(Config)) { Device = Device.Kind.Name() };
    }

    /// <summary>Forgets the image and frees its embedding.</summary>
    public void ResetImage()
    {
        embedding?.Dispose();
        imageTokens?.Dispose();
        decoderCache?.Dispose();
        embedding = imageTokens = null;
        decoderCache = null;
    }

    /// <summary>
    /// Masks for one prompt (predict): points, a box, a previous mask, or any mix of them.
    /// </summary>
    /// <param name="pointCoords">N×2 points (x, y) in the image's pixels.</param>
    /// <param name="pointLabels">N labels: 1 a foreground point, 0 a background point.</param>
    /// <param name="box">A box x0, y0, x1, y1 in the image's pixels.</param>
    /// <param name="maskInput">
    /// A previous prediction's low-resolution logits (256×256), as the official demo feeds the best
    /// one back with the next click: <see cref="SamPrediction.LowResLogitsOf"/>.
    /// </param>
    /// <param name="multimaskOutput">Three candidate masks (best for an ambiguous single point), or one.</param>
    /// <param name="returnLogits">Return the upscaled logits (<see cref="SamPrediction.MaskLogits"/>) instead of thresholded masks.</param>
    /// <returns>C×H×W masks (C = 3 with multimask output, else 1) at the image's size, their predicted IoU, and the low-resolution logits.</returns>
    /// <exception cref="SamException">A prompt is outside the image, not finite, or malformed.</exception>
    /// <exception cref="InvalidOperationException">No image is set.</exception>
    public SamPrediction Predict(float[,]? pointCoords = null, int[]? pointLabels = null, float[]? box = null,
        float[]? maskInput = null, bool multimaskOutput = true, bool returnLogits = false)
    {
        float[,,]? points = null;
        int[,]? labels = null;
        if (pointCoords != null || pointLabels != null)
        {
            if (pointCoords == null || pointLabels == null) throw new SamException("points need both coordinates and labels");
            if (pointCoords.GetLength(1) != 2) throw new SamException($"point coordinates must be N×2 (x, y), got N×{pointCoords.GetLength(1)}");
            int n = pointCoords.GetLength(0);
            if (pointLabels.Length != n) throw new SamException($"{n} points but {pointLabels.Length} labels");
            points = new float[1, n, 2];
            labels = new int[1, n];
            for (int i = 0; i < n; i++)
            {
                points[0, i, 0] = pointCoords[i, 0];
                points[0, i, 1] = pointCoords[i, 1];
                labels[0, i] = pointLabels[i];
            }
        }
        float[,]? boxes = null;
        if (box != null)
        {
            if (box.Length != 4) throw new SamException($"a box is 4 values x0, y0, x1, y1, got {box.Length}");
            boxes = new float[1, 4];
            for (int i = 0; i < 4; i++) boxes[0, i] = box[i];
        }
        return PredictBatch(boxes, points, labels, maskInput, multimaskOutput, returnLogits);
    }

    /// <summary>
    /// B prompts in one decoder pass (predict_torch): B boxes, and/or B sets of N points, and/or
    /// B low-resolution masks. Faster per prompt than B calls of <see cref="Predict"/>.
    /// </summary>
    /// <param name="boxes">B×4 boxes x0, y0, x1, y1 in the image's pixels.</param>
    /// <param name="pointCoords">B×N×2 points (x, y) in the image's pixels.</param>
    /// <param name="pointLabels">B×N labels, 1 foreground, 0 background.</param>
    /// <param name="maskInputs">B×256×256 low-resolution logits, or one 256×256 mask for every prompt.</param>
    /// <param name="multimaskOutput">Three candidate masks per prompt, or one.</param>
    /// <param name="returnLogits">Upscaled logits instead of thresholded masks.</param>
    /// <returns>B×C×H×W masks.</returns>
    /// <exception cref="SamException">A prompt is outside the image, not finite, or the counts disagree.</exception>
    public SamPrediction PredictBatch(float[,]? boxes, float[,,]? pointCoords = null, int[,]? pointLabels = null,
        float[]? maskInputs = null, bool multimaskOutput = true, bool returnLogits = false)
    {
        RequireImage();
        if (boxes == null && pointCoords == null && maskInputs == null)
            throw new SamException("no prompt: give at least one point, a box or a mask input");
        int? batch = null;
        void Agree(int count, string what)
        {
            if (batch != null && batch != count) throw new SamException($"{count} {what} for a batch of {batch} prompts");
            batch = count;
        }

        double[]? points = null;
        int[]? labels = null;
        int n = 0;
        if (pointCoords != null || pointLabels != null)
        {
            if (pointCoords == null || pointLabels == null) throw new SamException("points need both coordinates and labels");
            int b = pointCoords.GetLength(0);
            n = pointCoords.GetLength(1);
            if (pointCoords.GetLength(2) != 2) throw new SamException($"point coordinates must be B×N×2 (x, y), got last axis {pointCoords.GetLength(2)}");
            if (pointLabels.GetLength(0) != b || pointLabels.GetLength(1) != n)
                throw new SamException($"{b}×{n} points but {pointLabels.GetLength(0)}×{pointLabels.GetLength(1)} labels");
            if (n == 0) throw new SamException("points given but the list is empty");
            Agree(b, "point sets");
            var raw = new double[b * n * 2];
            labels = new int[b * n];
            for (int i = 0; i < b; i++)
                for (int j = 0; j < n; j++)
                {
                    float x = pointCoords[i, j, 0], y = pointCoords[i, j, 1];
                    PromptValidation.Point(x, y, pointLabels[i, j], OriginalSize);
                    raw[(i * n + j) * 2] = x;
                    raw[(i * n + j) * 2 + 1] = y;
                    labels[i * n + j] = pointLabels[i, j];
                }
            points = Transform.ApplyCoords(raw, (OriginalSize.H, OriginalSize.W));
        }

        double[]? boxesInput = null;
        if (boxes != null)
        {
            if (boxes.GetLength(1) != 4) throw new SamException($"boxes must be B×4 (x0, y0, x1, y1), got B×{boxes.GetLength(1)}");
            int b = boxes.GetLength(0);
            if (b == 0) throw new SamException("boxes given but the list is empty");
            Agree(b, "boxes");
            var raw = new double[b * 4];
            for (int i = 0; i < b; i++)
            {
                Span<float> one = [boxes[i, 0], boxes[i, 1], boxes[i, 2], boxes[i, 3]];
                PromptValidation.Box(one, OriginalSize);
                for (int j = 0; j < 4; j++) raw[i * 4 + j] = one[j];
            }
            boxesInput = Transform.ApplyBoxes(raw, (OriginalSize.H, OriginalSize.W));
        }

        if (maskInputs != null)
        {
            int per = PromptEncoder.MaskInputSize.H * PromptEncoder.MaskInputSize.W;
            int count = batch ?? Math.Max(1, maskInputs.Length / per);
            // One mask for a batch of prompts serves every prompt, as the reference broadcasts it.
            if (count > 1 && maskInputs.Length == per)
                maskInputs = [.. Enumerable.Range(0, count).SelectMany(_ => maskInputs)];
            PromptValidation.MaskInput(maskInputs, count, PromptEncoder.MaskInputSize);
            batch = count;
        }

        var prompts = new PromptBatch(batch!.Value, n, points, labels, boxesInput, maskInputs);
        return PredictPrompts(prompts, multimaskOutput, returnLogits);
    }

    /// <summary>
    /// predict_torch: prompts already in the input frame (after ResizeLongestSide). No checks
    /// beyond shapes; callers that take user input go through <see cref="PredictBatch"/>.
    /// </summary>
    internal SamPrediction PredictPrompts(PromptBatch prompts, bool multimaskOutput = true, bool returnLogits = false)
    {
        var clock = Stopwatch.StartNew();
        var (lowRes, iou) = Decode(prompts, multimaskOutput);
        var decoderTime = clock.Elapsed;

        using (lowRes)
        using (Profiler.Stage("postprocess"))
        {
            int b = lowRes.Dim(0), c = lowRes.Dim(1), lh = lowRes.Dim(2), lw = lowRes.Dim(3);
            var (oh, ow) = OriginalSize;
            long plane = (long)oh * ow;
            var lowResHost = lowRes.Download();
            var masks = returnLogits ? null : new bool[b * c * plane];
            var logits = returnLogits ? new float[b * c * plane] : null;
            if (Device.IsIlgpu) UpscaleOnDevice(lowRes, b * c, lh, lw, masks, logits);
            else StreamedPostprocessing.Predictions(lowResHost, b * c, (lh, lw), ImageSize, InputSize, OriginalSize, MaskThreshold, logits, masks);
            return new SamPrediction
            {
                Batch = b,
                MaskCount = c,
                Height = oh,
                Width = ow,
                LowResHeight = lh,
                LowResWidth = lw,
                Masks = masks,
                MaskLogits = logits,
                IouPredictions = iou,
                LowResLogits = lowResHost,
                DecoderTime = decoderTime,
                PostprocessTime = clock.Elapsed - decoderTime,
            };
        }
    }

    /// <summary>
    /// The prompt encoder and mask decoder alone (no upscaling to the image): low-resolution
    /// logits [B, C, 4h, 4w] owned by the caller, and the IoU predictions B×C. With upscaleAboveIou,
    /// only the prompts with a mask of predicted IoU above it get logits (the others' are −∞; see
    /// <see cref="MaskDecoder.Forward"/>).
    /// </summary>
    internal (Tensor LowResLogits, float[] IouPredictions) Decode(PromptBatch prompts, bool multimaskOutput = true, float? upscaleAboveIou = null)
    {
        RequireImage();
        using var _ = Profiler.Stage("prompt_decoder");
        var sparse = PromptEncoder.EmbedSparse(prompts);
        var (mh, mw) = PromptEncoder.MaskInputSize;
        using var maskTensor = prompts.Masks != null ? Tensor.FromArray(Device, prompts.Masks, prompts.Count, 1, mh, mw) : null;
        using var dense = maskTensor != null ? PromptEncoder.EmbedMasks(maskTensor) : null;
        var cache = dense == null ? decoderCache ??= MaskDecoder.CacheImage(imageTokens!, PromptEncoder.DensePe, PromptEncoder.NoMaskEmbed) : null;
        int b = prompts.Count, chunk = Math.Min(b, DecoderChunk);
        if (chunk == b)
            return MaskDecoder.Forward(imageTokens!, EmbeddingSize, PromptEncoder.DensePe, sparse, b, dense ?? PromptEncoder.NoMaskEmbed, multimaskOutput, cache, upscaleAboveIou);

        int perPrompt = sparse.Length / b;
        Tensor? lowRes = null;
        var iou = new List<float>();
        try
        {
            for (int start = 0; start < b; start += chunk)
            {
                int count = Math.Min(chunk, b - start);
                var (part, partIou) = MaskDecoder.Forward(imageTokens!, EmbeddingSize, PromptEncoder.DensePe,
                    sparse.AsSpan(start * perPrompt, count * perPrompt).ToArray(), count, dense?.Slice(start, count) ?? PromptEncoder.NoMaskEmbed, multimaskOutput, cache, upscaleAboveIou);
                using (part)
                {
                    lowRes ??= Tensor.Empty(Device, [b, .. part.Shape[1..]]);
                    Permute.Forward(part, [.. Enumerable.Range(0, part.Rank)], lowRes.Slice(start, count));
                }
                iou.AddRange(partIou);
            }
            return (lowRes!, [.. iou]);
        }
        catch
        {
            lowRes?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Prompts per mask-decoder pass. After the first image→token update every prompt carries its
    /// own copy of the image tokens through the transformer (B×HW×C floats per activation, 4 MB a
    /// prompt at 64×64), so a large batch runs in chunks: 64 prompts at once peaked at 2.9 GB
    /// resident, chunks of 16 at 1.1 GB, for the same time within noise (docs/perf.md).
    /// </summary>
    internal int DecoderChunk { get; init; } = 16;

    /// <summary>
    /// postprocess_masks as the device's kernels compose it (two bilinear resizes per mask), for
    /// the ILGPU devices; the host path streams rows instead (<see cref="StreamedPostprocessing"/>, same values).
    /// </summary>
    void UpscaleOnDevice(Tensor lowRes, int count, int lh, int lw, bool[]? masks, float[]? logits)
    {
        var (oh, ow) = OriginalSize;
        int plane = oh * ow;
        var post = new MaskPostprocessing(ImageSize, InputSize, OriginalSize);
        using var upscaled = Tensor.Empty(Device, oh, ow);
        for (int i = 0; i < count; i++)
        {
            post.Forward(lowRes.Reshape(count, lh * lw).Slice(i, 1), lh, lw, upscaled);
            var values = upscaled.Download();
            if (logits != null) values.CopyTo(logits.AsSpan(i * plane, plane));
            else LogitMask.Threshold(values, MaskThreshold, masks.AsSpan(i * plane, plane));
        }
    }

    void RequireImage()
    {
        if (imageTokens == null) throw new InvalidOperationException("no image set: call SetImage or SetEmbedding first");
    }

    /// <summary>Frees the image, the weights this predictor uploaded, and its buffers.</summary>
    public void Dispose()
    {
        ResetImage();
        encoder?.Dispose();
        PromptEncoder.Dispose();
        MaskDecoder.Dispose();
    }
}
