namespace SamEngine.Model;

/// <summary>
/// SAM's random Fourier positional encoding: a point in [0, 1]² is mapped to [-1, 1]², projected
/// by the stored Gaussian matrix G [2, F] and encoded as [sin(2π·p·G), cos(2π·p·G)] (2F values).
/// Evaluated on the host in float64: it is a few thousand values, and computing it exactly
/// removes one source of float32 error the reference has.
/// </summary>
internal sealed class PositionEmbeddingRandom
{
    readonly double[] gaussian;

    /// <param name="gaussianMatrix">positional_encoding_gaussian_matrix, [2, F] row-major.</param>
    public PositionEmbeddingRandom(float[] gaussianMatrix)
    {
        if (gaussianMatrix.Length == 0 || gaussianMatrix.Length % 2 != 0)
            throw new ArgumentException($"gaussian matrix of {gaussianMatrix.Length} values is not [2, F]");
        gaussian = Array.ConvertAll(gaussianMatrix, v => (double)v);
        Features = gaussianMatrix.Length / 2;
    }

    /// <summary>F, the number of frequencies; the encoding has 2F channels.</summary>
    public int Features { get; }
    public int Channels => 2 * Features;

    /// <summary>Encodes one point already normalised to [0, 1]² (x along the width, y along the height).</summary>
    public void Encode(double x, double y, Span<float> output)
    {
        double cx = 2 * x - 1, cy = 2 * y - 1;
        for (int j = 0; j < Features; j++)
        {
            double p = 2 * Math.PI * (cx * gaussian[j] + cy * gaussian[Features + j]);
            output[j] = (float)Math.Sin(p);
            output[Features + j] = (float)Math.Cos(p);
        }
    }

    /// <summary>
    /// Encodes a point in pixels of an image of the given size: x divided by the width, y by the
    /// height (forward_with_coords). The caller has already shifted it to the pixel centre.
    /// </summary>
    public void EncodePixel(double x, double y, (int H, int W) imageSize, Span<float> output) =>
        Encode(x / imageSize.W, y / imageSize.H, output);

    /// <summary>
    /// The encoding of every cell centre of an h×w grid, token-major [h·w, 2F] — the layout the
    /// two-way transformer reads (the reference's C×H×W, flattened and transposed).
    /// </summary>
    public float[] Grid(int h, int w)
    {
        var pe = new float[(long)h * w * Channels];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                Encode((j + 0.5) / w, (i + 0.5) / h, pe.AsSpan((i * w + j) * Channels, Channels));
        return pe;
    }
}
