namespace SamEngine.Model;

/// <summary>
/// B prompts for one image, already in the model's input frame (coordinates after
/// ResizeLongestSide, in pixels of the resized image): what the reference's prompt encoder takes.
/// Every prompt of a batch has the same kind of parts (the same number of points, a box or not,
/// a mask or not), as torch's batched tensors require.
/// </summary>
internal sealed class PromptBatch
{
    public PromptBatch(int count, int pointsPerPrompt, double[]? points, int[]? labels, double[]? boxes, float[]? masks)
    {
        if (count < 1) throw new ArgumentException("a prompt batch needs at least one prompt");
        if ((points == null) != (labels == null)) throw new ArgumentException("points and labels come together");
        if (points != null && (pointsPerPrompt < 1 || points.Length != count * pointsPerPrompt * 2 || labels!.Length != count * pointsPerPrompt))
            throw new ArgumentException($"{count} prompts of {pointsPerPrompt} points need {count * pointsPerPrompt * 2} coordinates and {count * pointsPerPrompt} labels");
        if (boxes != null && boxes.Length != count * 4) throw new ArgumentException($"{count} boxes need {count * 4} coordinates, got {boxes.Length}");
        if (masks != null && masks.Length % count != 0) throw new ArgumentException($"{masks.Length} mask values do not split into {count} masks");
        Count = count;
        PointsPerPrompt = points == null ? 0 : pointsPerPrompt;
        Points = points;
        Labels = labels;
        Boxes = boxes;
        Masks = masks;
    }

    /// <summary>B.</summary>
    public int Count { get; }
    /// <summary>N (0 without points).</summary>
    public int PointsPerPrompt { get; }
    /// <summary>B×N×2 (x, y), or null.</summary>
    public double[]? Points { get; }
    /// <summary>B×N: 1 foreground, 0 background, −1 not a point.</summary>
    public int[]? Labels { get; }
    /// <summary>B×4 (x0, y0, x1, y1), or null.</summary>
    public double[]? Boxes { get; }
    /// <summary>B×(4h)×(4w) low-resolution mask logits (a previous prediction), or null.</summary>
    public float[]? Masks { get; }
}
