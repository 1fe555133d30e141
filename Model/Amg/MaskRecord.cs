namespace SamEngine.Model;

/// <summary>
/// One mask of automatic mask generation, with the fields of the reference's records. The
/// mask is kept as its uncompressed RLE; <see cref="BinaryMask"/> or <see cref="CocoCounts"/>
/// hold it in the form the output mode asks for.
/// </summary>
public sealed class MaskRecord
{
    public required Rle Rle { get; init; }
    /// <summary>The mask, row-major H×W, in binary_mask output mode; else null.</summary>
    public bool[]? BinaryMask { get; init; }
    /// <summary>COCO's compressed counts string in coco_rle output mode; else null.</summary>
    public string? CocoCounts { get; init; }
    public long Area => Rle.Area;
    /// <summary>The box around the mask (x0, y0, x1, y1) with x1, y1 the last set column and row.</summary>
    public required BoxXyxy Box { get; init; }
    /// <summary>The decoder's predicted IoU (float32; it may exceed 1).</summary>
    public required float PredictedIou { get; init; }
    /// <summary>The point prompt that produced the mask, in image pixels.</summary>
    public required (double X, double Y) PointCoords { get; init; }
    /// <summary>NaN for a mask empty even at the lower threshold (0/0), as the reference computes it.</summary>
    public required float StabilityScore { get; init; }
    /// <summary>The crop the mask was predicted in (x0, y0, x1, y1), x1 and y1 exclusive.</summary>
    public required BoxXyxy CropBox { get; init; }
}

/// <summary>
/// Where a generation spent its time: the image encoder (once per crop), the prompt encoder and
/// mask decoder, and the rest (upscaling, scoring, RLE, NMS, small-region cleanup).
/// </summary>
public sealed record AmgTimings(TimeSpan Encoder, TimeSpan Decoder, TimeSpan Postprocess, int Crops, int Prompts, int MasksScored)
{
    public TimeSpan Total => Encoder + Decoder + Postprocess;
}

/// <summary>
/// The records of one image, in the reference's order. The two flags reproduce the number
/// types of the reference's arrays, which show in its outputs ("12" or "12.0"): its boxes
/// become float when some batch kept no mask (an empty batch's boxes are float zeros, and
/// concatenation promotes), its crop boxes when some crop kept none.
/// </summary>
public sealed class AmgResult
{
    public required int Height { get; init; }
    public required int Width { get; init; }
    public required IReadOnlyList<MaskRecord> Masks { get; init; }
    public required AmgOutputMode OutputMode { get; init; }
    public bool BoxesAreFloat { get; init; }
    public bool CropBoxesAreFloat { get; init; }
    public required AmgTimings Timings { get; init; }
}
