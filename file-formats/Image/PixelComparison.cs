namespace SamEngine.FileFormats;

/// <summary>
/// Decoded pixels against a reference decoder's (a uint8 H×W×3 array, as cv2.imread + BGR→RGB
/// gives): equal byte for byte, or how many bytes differ, by how much, and where the first is.
/// </summary>
internal sealed record PixelComparison(string? ShapeMismatch, long Bytes, long DifferingBytes, int MaxDifference,
    int FirstRow = 0, int FirstColumn = 0, int FirstChannel = 0, byte Ours = 0, byte Reference = 0)
{
    public bool Equal => ShapeMismatch == null && DifferingBytes == 0;

    public static PixelComparison Compare(RgbImage ours, NpyArray reference)
    {
        int[] shape = [ours.Height, ours.Width, 3];
        if (reference.DType != NpyDType.UInt8 || !reference.Shape.SequenceEqual(shape))
            return new($"ours is uint8 ({ours.Height}, {ours.Width}, 3), the reference {reference.DType.Descr()} {reference.ShapeText}", 0, 0, 0);
        var want = reference.ToBytes();
        var got = ours.Pixels;
        int first = want.AsSpan().CommonPrefixLength(got);
        if (first == want.Length) return new(null, want.Length, 0, 0);
        long differing = 0;
        int max = 0;
        for (int i = first; i < want.Length; i++)
        {
            int d = Math.Abs(got[i] - want[i]);
            if (d == 0) continue;
            differing++;
            max = Math.Max(max, d);
        }
        int pixel = first / 3;
        return new(null, want.Length, differing, max, pixel / ours.Width, pixel % ours.Width, first % 3, got[first], want[first]);
    }

    public override string ToString() =>
        ShapeMismatch != null ? $"shapes differ: {ShapeMismatch}"
        : Equal ? $"all {Bytes} bytes equal"
        : $"{DifferingBytes} of {Bytes} bytes differ (by up to {MaxDifference}); the first at row {FirstRow}, column {FirstColumn}, " +
          $"{"RGB"[FirstChannel]}: {Ours} where the reference has {Reference}";
}
