namespace SamEngine;

/// <summary>
/// One mask of automatic mask generation, with the fields of the reference's records. The
/// mask is kept as its uncompressed RLE; <see cref="BinaryMask"/> or <see cref="CocoCounts"/>
/// hold it in the form the output mode asks for.
/// </summary>
public sealed class MaskRecord
{
    /// <summary>The mask as uncompressed RLE; <see cref="Rle.Decode"/> gives it as bools.</summary>
    public required Rle Rle { get; init; }
    /// <summary>The mask, row-major H×W, in binary_mask output mode; else null.</summary>
    public bool[]? BinaryMask { get; init; }
    /// <summary>COCO's compressed counts string in coco_rle output mode; else null.</summary>
    public string? CocoCounts { get; init; }
    /// <summary>The mask's pixels.</summary>
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
/// <param name="Encoder">Image encoder time, all crops.</param>
/// <param name="Decoder">Prompt encoder and mask decoder time.</param>
/// <param name="Postprocess">Upscaling, scoring, RLE, NMS and cleanup.</param>
/// <param name="Crops">Crops encoded (1 without crop layers).</param>
/// <param name="Prompts">Point prompts decoded.</param>
/// <param name="MasksScored">Candidate masks upscaled and scored (those above the IoU threshold).</param>
public sealed record AmgTimings(TimeSpan Encoder, TimeSpan Decoder, TimeSpan Postprocess, int Crops, int Prompts, int MasksScored)
{
    /// <summary>Encoder, decoder and postprocessing together.</summary>
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
    /// <summary>The image's height.</summary>
    public required int Height { get; init; }
    /// <summary>The image's width.</summary>
    public required int Width { get; init; }
    /// <summary>The masks, in the reference's order.</summary>
    public required IReadOnlyList<MaskRecord> Masks { get; init; }
    /// <summary>The form the masks were asked in.</summary>
    public required AmgOutputMode OutputMode { get; init; }
    internal bool BoxesAreFloat { get; init; }
    internal bool CropBoxesAreFloat { get; init; }
    /// <summary>Where the time went.</summary>
    public required AmgTimings Timings { get; init; }

    /// <summary>
    /// The records as amg.py writes its JSON with --convert-to-rle, byte for byte (Python's number
    /// forms and key order; a stability score of 0/0 as NaN), or as standard JSON (NaN as null)
    /// with <paramref name="strict"/>. Needs an RLE output mode.
    /// </summary>
    /// <exception cref="InvalidOperationException">The masks are binary masks, which amg.py cannot write as JSON.</exception>
    public string ToJson(bool strict = false) => Model.AmgJson.Serialize(this, strict);
}
