namespace SamEngine.Model;

/// <summary>
/// What <see cref="SamPredictor"/> returns for B prompts (B = 1 for Predict): C masks each, at the
/// original image size, thresholded (or as logits), their predicted IoU, and the low-resolution
/// logits that can be fed back as a mask prompt. Arrays are row-major B×C×… .
/// </summary>
public sealed class SamPrediction
{
    public required int Batch { get; init; }
    /// <summary>C: 3 with multimask output, else 1.</summary>
    public required int MaskCount { get; init; }
    /// <summary>The original image size.</summary>
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required int LowResHeight { get; init; }
    public required int LowResWidth { get; init; }
    /// <summary>B×C×H×W: logit &gt; the mask threshold; null when logits were asked for.</summary>
    public bool[]? Masks { get; init; }
    /// <summary>B×C×H×W upscaled logits; null unless asked for.</summary>
    public float[]? MaskLogits { get; init; }
    /// <summary>B×C.</summary>
    public required float[] IouPredictions { get; init; }
    /// <summary>B×C×LowResHeight×LowResWidth.</summary>
    public required float[] LowResLogits { get; init; }
    /// <summary>Prompt encoding and the mask decoder (until its outputs are on the host).</summary>
    public TimeSpan DecoderTime { get; init; }
    /// <summary>Upscaling to the original size and thresholding.</summary>
    public TimeSpan PostprocessTime { get; init; }

    /// <summary>The shape of <see cref="Masks"/>/<see cref="MaskLogits"/>: C×H×W for one prompt, B×C×H×W for a batch.</summary>
    public int[] MaskShape(bool batched) => batched ? [Batch, MaskCount, Height, Width] : [MaskCount, Height, Width];
    public int[] IouShape(bool batched) => batched ? [Batch, MaskCount] : [MaskCount];
    public int[] LowResShape(bool batched) => batched ? [Batch, MaskCount, LowResHeight, LowResWidth] : [MaskCount, LowResHeight, LowResWidth];
}
