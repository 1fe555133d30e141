using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// sam.py's postprocess_masks on the host, a row at a time: what AMG needs of one candidate's
/// full-resolution logits (its stability score and its binary mask at the crop's size) without
/// ever holding them, and the predictor's masks or logits a band of rows at a time, so that
/// bands of several masks run on all cores. postprocess_masks (bilinear
/// up to the encoder's square input, crop away the padding, bilinear to the crop's size) runs
/// row by row: an output row blends two rows of the second resize's horizontal pass, which
/// each resize one row of the padded square, which blends two rows of the first resize's
/// horizontal pass of the low-resolution logits. Rows are made when first needed and kept
/// while the next output rows may need them (the taps move monotonically, two per level
/// suffice), and each output row is counted and thresholded at once. Every value is the one
/// <see cref="MaskPostprocessing"/> computes: the same taps and float32 operations
/// (<see cref="RowResampler"/>), only evaluated in another order. Not thread-safe: one per
/// thread, all sharing the crop's geometry.
/// </summary>
internal sealed class StreamedPostprocessing
{
    readonly int lowH, lowW, inputH, inputW, cropH, cropW;
    readonly RowResampler across1, across2;
    readonly LinearTaps[] down1, down2;
    // Two rows per level, row r in slot r % 2: a blend reads rows i and i + 1 (or i twice).
    readonly float[][] across1Rows, paddedRows, across2Rows;
    readonly int[] across1Tag = [-1, -1], paddedTag = [-1, -1], across2Tag = [-1, -1];
    readonly float[] outputRow;
    float[] lowRes = [];
    int lowResOffset;
    bool[]? mask;

    public StreamedPostprocessing(int imageSize, (int H, int W) inputSize, (int H, int W) cropSize, (int H, int W) lowResSize)
    {
        if (inputSize.H < 1 || inputSize.W < 1 || inputSize.H > imageSize || inputSize.W > imageSize)
            throw new ArgumentException($"input size {inputSize.H}×{inputSize.W} does not fit the {imageSize}² encoder input");
        (lowH, lowW) = lowResSize;
        (inputH, inputW) = inputSize;
        (cropH, cropW) = cropSize;
        // The first resize is to imageSize², of which only the top-left input size is read.
        across1 = new RowResampler(lowW, imageSize);
        down1 = LinearTaps.All(lowH, imageSize);
        across2 = new RowResampler(inputW, cropW);
        down2 = LinearTaps.All(inputH, cropH);
        across1Rows = [new float[inputW], new float[inputW]];
        paddedRows = [new float[inputW], new float[inputW]];
        across2Rows = [new float[cropW], new float[cropW]];
        outputRow = new float[cropW];
    }

    /// <summary>The last <see cref="Run"/>'s mask, row-major at the crop's size: logits &gt; mask threshold.</summary>
    public bool[] Mask => mask ??= new bool[cropH * cropW];

    /// <summary>
    /// The predictor's output for count low-resolution masks (lowResSize each, back to back in
    /// lowRes): every mask at the original size as logits or as logits &gt; threshold, written
    /// plane after plane into whichever of <paramref name="logits"/> and <paramref name="masks"/>
    /// is given. One mask alone is cut into bands of rows so that all cores share it.
    /// </summary>
    public static void Predictions(float[] lowRes, int count, (int H, int W) lowResSize, int imageSize, (int H, int W) inputSize,
        (int H, int W) originalSize, float threshold, float[]? logits, bool[]? masks)
    {
        var (oh, ow) = originalSize;
        long plane = (long)oh * ow;
        if ((logits == null) == (masks == null) || (logits?.LongLength ?? masks!.LongLength) != count * plane)
            throw new ArgumentException($"predictions: {count} masks of {oh}×{ow} need one output of {count * plane} values");
        int bands = Math.Clamp((2 * Environment.ProcessorCount + count - 1) / count, 1, Math.Max(1, oh / 64));
        int bandRows = (oh + bands - 1) / bands;
        CpuCores.For(0, count * bands,
            () => new StreamedPostprocessing(imageSize, inputSize, originalSize, lowResSize),
            (item, _, post) =>
            {
                int m = item / bands, y0 = item % bands * bandRows, y1 = Math.Min(oh, y0 + bandRows);
                if (y0 >= y1) return post;
                int offset = m * lowResSize.H * lowResSize.W, start = (int)(m * plane + (long)y0 * ow), length = (y1 - y0) * ow;
                if (logits != null) post.Logits(lowRes, offset, y0, y1, logits.AsSpan(start, length));
                else post.Threshold(lowRes, offset, y0, y1, threshold, masks.AsSpan(start, length));
                return post;
            },
            _ => { });
    }

    /// <summary>
    /// Upscales one candidate's low-resolution logits (lowResH·lowResW values of
    /// <paramref name="logits"/> from <paramref name="offset"/>), fills <see cref="Mask"/> and
    /// returns the stability score.
    /// </summary>
    public float Run(float[] logits, int offset, float maskThreshold, double stabilityOffset)
    {
        Begin(logits, offset);
        var counts = new StabilityScore.Counts(maskThreshold, stabilityOffset);
        for (int y = 0; y < cropH; y++)
        {
            OutputRow(y, outputRow);
            counts.AddRow(outputRow);
            LogitMask.Threshold(outputRow, maskThreshold, Mask.AsSpan(y * cropW, cropW));
        }
        return counts.Score;
    }

    /// <summary>Rows [y0, y1) of one mask's logits at the crop's size into <paramref name="output"/>, row-major.</summary>
    public void Logits(float[] logits, int offset, int y0, int y1, Span<float> output)
    {
        Begin(logits, offset);
        CheckRows(y0, y1, output.Length);
        for (int y = y0; y < y1; y++) OutputRow(y, output.Slice((y - y0) * cropW, cropW));
    }

    /// <summary>Rows [y0, y1) of one mask at the crop's size (logits &gt; threshold) into <paramref name="output"/>, row-major.</summary>
    public void Threshold(float[] logits, int offset, int y0, int y1, float maskThreshold, Span<bool> output)
    {
        Begin(logits, offset);
        CheckRows(y0, y1, output.Length);
        for (int y = y0; y < y1; y++)
        {
            OutputRow(y, outputRow);
            LogitMask.Threshold(outputRow, maskThreshold, output.Slice((y - y0) * cropW, cropW));
        }
    }

    void Begin(float[] logits, int offset)
    {
        if (offset < 0 || offset > logits.Length - lowH * lowW) throw new ArgumentException($"no {lowH}×{lowW} logits at {offset} of {logits.Length}");
        lowRes = logits;
        lowResOffset = offset;
        Array.Fill(across1Tag, -1);
        Array.Fill(paddedTag, -1);
        Array.Fill(across2Tag, -1);
    }

    void CheckRows(int y0, int y1, int length)
    {
        if (y0 < 0 || y1 > cropH || y0 > y1 || length != (y1 - y0) * cropW)
            throw new ArgumentException($"rows {y0}..{y1} of a {cropH}×{cropW} mask into {length} values");
    }

    /// <summary>Output row y: a blend of two rows of the second resize's horizontal pass.</summary>
    void OutputRow(int y, Span<float> row)
    {
        var t = down2[y];
        RowResampler.Down(Across2(t.I0), t.W0, Across2(t.I1), t.W1, row);
    }

    /// <summary>Row r of the second resize's horizontal pass over the cropped padded square.</summary>
    float[] Across2(int r)
    {
        var row = across2Rows[r & 1];
        if (across2Tag[r & 1] == r) return row;
        across2.Across(Padded(r), row);
        across2Tag[r & 1] = r;
        return row;
    }

    /// <summary>The first inputW values of row r of the first resize's output.</summary>
    float[] Padded(int r)
    {
        var row = paddedRows[r & 1];
        if (paddedTag[r & 1] == r) return row;
        var t = down1[r];
        RowResampler.Down(Across1(t.I0), t.W0, Across1(t.I1), t.W1, row);
        paddedTag[r & 1] = r;
        return row;
    }

    /// <summary>Low-resolution row k resized across to the padded square's width (its first inputW values).</summary>
    float[] Across1(int k)
    {
        var row = across1Rows[k & 1];
        if (across1Tag[k & 1] == k) return row;
        across1.Across(lowRes.AsSpan(lowResOffset + k * lowW, lowW), row);
        across1Tag[k & 1] = k;
        return row;
    }
}
