using SamEngine.Engine;

namespace SamEngine.Model;

/// <summary>Checks user prompts in original-image pixels; every failure is a one-line <see cref="SamException"/>.</summary>
internal static class PromptValidation
{
    public static void Point(float x, float y, int label, (int H, int W) image)
    {
        if (!float.IsFinite(x) || !float.IsFinite(y)) throw new SamException($"point ({x}, {y}) is not a finite number");
        if (x < 0 || y < 0 || x > image.W || y > image.H)
            throw new SamException($"point ({x}, {y}) lies outside the {image.W}×{image.H} image");
        if (label is not (0 or 1)) throw new SamException($"point label {label} is neither 1 (foreground) nor 0 (background)");
    }

    public static void Box(ReadOnlySpan<float> box, (int H, int W) image)
    {
        string text = $"({string.Join(", ", box.ToArray())})";
        if (box.Length != 4) throw new SamException($"box {text} needs 4 values x0, y0, x1, y1");
        foreach (var v in box)
            if (!float.IsFinite(v)) throw new SamException($"box {text} has a value that is not a finite number");
        if (box[2] < box[0]) throw new SamException($"box {text} has x1 < x0");
        if (box[3] < box[1]) throw new SamException($"box {text} has y1 < y0");
        if (box[0] < 0 || box[1] < 0 || box[2] > image.W || box[3] > image.H)
            throw new SamException($"box {text} reaches outside the {image.W}×{image.H} image");
    }

    public static void MaskInput(ReadOnlySpan<float> mask, int count, (int H, int W) size)
    {
        long expected = (long)count * size.H * size.W;
        if (mask.Length != expected)
            throw new SamException($"mask input has {mask.Length} values; expected {(count > 1 ? $"{count}×" : "")}{size.H}×{size.W} (a previous prediction's low-res logits)");
        foreach (var v in mask)
            if (!float.IsFinite(v)) throw new SamException("mask input holds a value that is not a finite number");
    }
}
