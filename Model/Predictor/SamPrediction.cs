using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine;

/// <summary>
/// What <see cref="SamPredictor"/> returns for B prompts (B = 1 for Predict): C masks each, at the
/// original image size, thresholded (or as logits), their predicted IoU, and the low-resolution
/// logits that can be fed back as a mask prompt. Arrays are row-major B×C×… .
/// </summary>
public sealed class SamPrediction
{
    /// <summary>B: the number of prompts (1 for <see cref="SamPredictor.Predict"/>).</summary>
    public required int Batch { get; init; }
    /// <summary>C: 3 with multimask output, else 1.</summary>
    public required int MaskCount { get; init; }
    /// <summary>The original image's height: the masks' height.</summary>
    public required int Height { get; init; }
    /// <summary>The original image's width: the masks' width.</summary>
    public required int Width { get; init; }
    /// <summary>The low-resolution logits' height (256).</summary>
    public required int LowResHeight { get; init; }
    /// <summary>The low-resolution logits' width (256).</summary>
    public required int LowResWidth { get; init; }
    /// <summary>B×C×H×W: logit &gt; the mask threshold; null when logits were asked for.</summary>
    public bool[]? Masks { get; init; }
    /// <summary>B×C×H×W upscaled logits; null unless asked for.</summary>
    public float[]? MaskLogits { get; init; }
    /// <summary>B×C: the model's estimate of each mask's IoU with the object meant.</summary>
    public required float[] IouPredictions { get; init; }
    /// <summary>B×C×LowResHeight×LowResWidth.</summary>
    public required float[] LowResLogits { get; init; }
    /// <summary>Prompt encoding and the mask decoder (until its outputs are on the host).</summary>
    public TimeSpan DecoderTime { get; init; }
    /// <summary>Upscaling to the original size and thresholding.</summary>
    public TimeSpan PostprocessTime { get; init; }

    /// <summary>The index (0 … C−1) of prompt <paramref name="prompt"/>'s mask with the highest predicted IoU.</summary>
    public int BestMaskIndex(int prompt = 0)
    {
        var scores = IouPredictions.AsSpan(Index(prompt, 0), MaskCount);
        int best = 0;
        for (int k = 1; k < scores.Length; k++)
            if (scores[k] > scores[best]) best = k;
        return best;
    }

    /// <summary>Mask <paramref name="index"/> of prompt <paramref name="prompt"/>: H×W, row-major, true inside.</summary>
    /// <exception cref="InvalidOperationException">Logits were asked for instead of masks.</exception>
    public bool[] Mask(int index, int prompt = 0)
    {
        var masks = Masks ?? throw new InvalidOperationException("this prediction holds logits (returnLogits): threshold MaskLogits at 0 for masks");
        long plane = (long)Height * Width;
        return masks.AsSpan((int)(Index(prompt, index) * plane), (int)plane).ToArray();
    }

    /// <summary>The mask as COCO's uncompressed run-length encoding (column-major counts, as amg.py writes them).</summary>
    public Rle MaskRle(int index, int prompt = 0) => Rle.Encode(Mask(index, prompt), Height, Width);

    /// <summary>The mask as an 8-bit greyscale PNG, 255 inside and 0 outside.</summary>
    public byte[] MaskPng(int index, int prompt = 0) => SamEngine.MaskPng.Encode(Mask(index, prompt), Height, Width);

    /// <summary>
    /// Mask <paramref name="index"/>'s 256×256 low-resolution logits: pass them as the next
    /// <see cref="SamPredictor.Predict"/>'s maskInput to refine the mask with more clicks.
    /// </summary>
    public float[] LowResLogitsOf(int index, int prompt = 0)
    {
        int plane = LowResHeight * LowResWidth;
        return LowResLogits.AsSpan(Index(prompt, index) * plane, plane).ToArray();
    }

    int Index(int prompt, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prompt);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(prompt, Batch);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaskCount);
        return prompt * MaskCount + index;
    }

    /// <summary>The shape of <see cref="Masks"/>/<see cref="MaskLogits"/>: C×H×W for one prompt, B×C×H×W for a batch.</summary>
    internal int[] MaskShape(bool batched) => batched ? [Batch, MaskCount, Height, Width] : [MaskCount, Height, Width];
    internal int[] IouShape(bool batched) => batched ? [Batch, MaskCount] : [MaskCount];
    internal int[] LowResShape(bool batched) => batched ? [Batch, MaskCount, LowResHeight, LowResWidth] : [MaskCount, LowResHeight, LowResWidth];
}
