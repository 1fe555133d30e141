namespace SamEngine.Model;

/// <summary>
/// The stability score of a mask: the IoU of the masks obtained by thresholding its logits at
/// mask_threshold + offset and at mask_threshold − offset. The first is contained in the
/// second, so the IoU is a ratio of pixel counts.
/// </summary>
public static class StabilityScore
{
    /// <summary>
    /// <paramref name="logits"/> is one row-major h×w mask. Counted as the reference does: each
    /// row's count in a 16-bit integer (it wraps past 32767 pixels), the rows' sum in 32 bits,
    /// thresholds and the ratio in float32; an empty low-threshold mask gives NaN (0/0).
    /// </summary>
    public static float Compute(ReadOnlySpan<float> logits, int height, int width, double maskThreshold, double offset)
    {
        if (logits.Length != height * width) throw new ArgumentException($"logits have {logits.Length} values, not {height}×{width}");
        float high = (float)(maskThreshold + offset), low = (float)(maskThreshold - offset);
        int intersection = 0, union = 0;
        unchecked
        {
            for (int y = 0; y < height; y++)
            {
                short inRow = 0, unRow = 0;
                foreach (float v in logits.Slice(y * width, width))
                {
                    if (v > high) inRow++;
                    if (v > low) unRow++;
                }
                intersection += inRow;
                union += unRow;
            }
        }
        return (float)intersection / union;
    }
}
