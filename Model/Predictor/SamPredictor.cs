using System.Diagnostics;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// The official SamPredictor: keep one image's embedding, then turn prompts given in
/// original-image pixels into masks. Coordinates go through ResizeLongestSide exactly as the
/// reference maps them; the masks come back at the original size.
/// </summary>
public sealed class SamPredictor : IDisposable
{
    Tensor? embedding;   // [1, C, h, w]
    Tensor? imageTokens; // [h·w, C]
    DecoderImageCache? decoderCache; // made at the first decode without a mask, dropped with the image
    readonly StateDict weights;
    SamImageEncoder? encoder;

    /// <summary>A predictor for a checkpoint; its sizes are inferred from the weights.</summary>
    public SamPredictor(StateDict weights, Device device) : this(weights, SamConfig.Infer(weights), device) { }

    public SamPredictor(StateDict weights, SamConfig config, Device device)
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

    public Device Device { get; }
    public SamConfig Config { get; }
    /// <summary>The encoder's square input (1024).</summary>
    public int ImageSize { get; }
    /// <summary>The embedding grid (64×64).</summary>
    public (int H, int W) EmbeddingSize { get; }
    public ResizeLongestSide Transform { get; }
    public PromptEncoder PromptEncoder { get; }
    public MaskDecoder MaskDecoder { get; }
    public float MaskThreshold { get; init; } = 0f;

    public bool IsImageSet => embedding != null;
    public (int H, int W) OriginalSize { get; private set; }
    /// <summary>The image's size after ResizeLongestSide (before padding).</summary>
    public (int H, int W) InputSize { get; private set; }

    /// <summary>
    /// Uses a saved embedding [1, C, h, w] (C·h·w values) of an image of the given original size;
    /// the input size follows from it as ResizeLongestSide computes it.
    /// </summary>
    public void SetEmbedding(ReadOnlySpan<float> values, int[] shape, (int H, int W) originalSize)
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

    /// <summary>Encodes an image and keeps its embedding (set_image).</summary>
    public void SetImage(RgbImage image) => SetEmbedding(Encoder.Embed(image));

    /// <summary>Uses an embedding saved by `sam embed` (or made by <see cref="Encoder"/>), refusing one of another encoder.</summary>
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
    public SamImageEncoder Encoder => encoder ??= new SamImageEncoder(weights, ImageEncoderConfig.Of(Config), Device);

    /// <summary>The current image's embedding [1, C, h, w], as the encoder gave it.</summary>
    public Tensor GetImageEmbedding() => embedding ?? throw new InvalidOperationException("no image set: call SetImage or SetEmbedding first");

    public void ResetImage()
    {
        embedding?.Dispose();
        imageTokens?.Dispose();
        decoderCache?.Dispose();
        embedding = imageTokens = null;
        decoderCache = null;
    }

    /// <summary>
    /// One prompt: N points (x, y in original pixels) with labels (1 foreground, 0 background),
    /// an optional box (x0, y0, x1, y1), an optional low-res mask (a previous prediction's
    /// logits, 256×256). Returns C×H×W masks (C = 3 with multimask output, else 1).
    /// </summary>
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
    /// B low-res masks (B×256×256). Returns B×C×H×W masks.
    /// </summary>
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
    public SamPrediction PredictPrompts(PromptBatch prompts, bool multimaskOutput = true, bool returnLogits = false)
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
            var post = new MaskPostprocessing(ImageSize, InputSize, OriginalSize);
            var masks = returnLogits ? null : new bool[b * c * plane];
            var logits = returnLogits ? new float[b * c * plane] : null;
            using var upscaled = Tensor.Empty(Device, oh, ow);
            for (int i = 0; i < b * c; i++)
            {
                post.Forward(lowRes.Reshape(b * c, lh * lw).Slice(i, 1), lh, lw, upscaled);
                ReadOnlySpan<float> values = Device.IsIlgpu ? upscaled.Download() : upscaled.Span;
                if (logits != null) values.CopyTo(logits.AsSpan((int)(i * plane), (int)plane));
                else Threshold(values, MaskThreshold, masks.AsSpan((int)(i * plane), (int)plane));
            }
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
    public (Tensor LowResLogits, float[] IouPredictions) Decode(PromptBatch prompts, bool multimaskOutput = true, float? upscaleAboveIou = null)
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
    public int DecoderChunk { get; init; } = 16;

    static void Threshold(ReadOnlySpan<float> logits, float threshold, Span<bool> masks)
    {
        for (int p = 0; p < logits.Length; p++) masks[p] = logits[p] > threshold;
    }

    void RequireImage()
    {
        if (imageTokens == null) throw new InvalidOperationException("no image set: call SetImage or SetEmbedding first");
    }

    public void Dispose()
    {
        ResetImage();
        encoder?.Dispose();
        PromptEncoder.Dispose();
        MaskDecoder.Dispose();
    }
}
