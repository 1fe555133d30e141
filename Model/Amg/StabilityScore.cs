using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Model;

/// <summary>
/// The stability score of a mask: the IoU of the masks obtained by thresholding its logits at
/// mask_threshold + offset and at mask_threshold − offset. The first is contained in the
/// second, so the IoU is a ratio of pixel counts.
/// </summary>
internal static class StabilityScore
{
    /// <summary>
    /// <paramref name="logits"/> is one row-major h×w mask. Counted as the reference does: each
    /// row's count in a 16-bit integer (it wraps past 32767 pixels), the rows' sum in 32 bits,
    /// thresholds and the ratio in float32; an empty low-threshold mask gives NaN (0/0).
    /// </summary>
    public static float Compute(ReadOnlySpan<float> logits, int height, int width, double maskThreshold, double offset)
    {
        if (logits.Length != height * width) throw new ArgumentException($"logits have {logits.Length} values, not {height}×{width}");
        var counts = new Counts(maskThreshold, offset);
        for (int y = 0; y < height; y++) counts.AddRow(logits.Slice(y * width, width));
        return counts.Score;
    }

    /// <summary>The counts of a mask fed one row at a time, for callers that never hold the whole mask.</summary>
    public struct Counts(double maskThreshold, double offset)
    {
        readonly float high = (float)(maskThreshold + offset), low = (float)(maskThreshold - offset);
        int intersection, union;

        public void AddRow(ReadOnlySpan<float> row)
        {
            var (above, aboveLow) = CountAbove(row, high, low);
            // A row's count wraps as an int16 sum does; the sum over rows is an int32.
            intersection += unchecked((short)above);
            union += unchecked((short)aboveLow);
        }

        public readonly float Score => (float)intersection / union;
    }

    /// <summary>How many values exceed t1 and how many t2 (NaN never does), in one pass of vector comparisons.</summary>
    static (int, int) CountAbove(ReadOnlySpan<float> values, float t1, float t2)
    {
        int count1 = 0, count2 = 0, i = 0;
        ref float start = ref MemoryMarshal.GetReference(values);
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> v1 = Vector512.Create(t1), v2 = Vector512.Create(t2);
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref start, (nuint)i);
                count1 += BitOperations.PopCount(Vector512.GreaterThan(v, v1).ExtractMostSignificantBits());
                count2 += BitOperations.PopCount(Vector512.GreaterThan(v, v2).ExtractMostSignificantBits());
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> v1 = Vector256.Create(t1), v2 = Vector256.Create(t2);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                count1 += BitOperations.PopCount(Vector256.GreaterThan(v, v1).ExtractMostSignificantBits());
                count2 += BitOperations.PopCount(Vector256.GreaterThan(v, v2).ExtractMostSignificantBits());
            }
        }
        for (; i < values.Length; i++)
        {
            if (values[i] > t1) count1++;
            if (values[i] > t2) count2++;
        }
        return (count1, count2);
    }
}
