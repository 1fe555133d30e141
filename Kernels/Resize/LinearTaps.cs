namespace SamEngine.Kernels;

/// <summary>
/// The two source taps and weights of one output position of PyTorch's linear interpolation
/// with align_corners=False: src = (dst + 0.5)·in/out − 0.5 clamped at 0, i0 = ⌊src⌋ clamped at
/// in − 1, i1 = i0 + 1 unless that leaves the input, weights 1 − (src − i0) and src − i0.
/// src is the fraction ((2·dst + 1)·in − out) / (2·out), split into i0 and its remainder in
/// integers: the weight is then one rounding from exact, where PyTorch's fp32 kernels round the
/// scale to float first and lose up to in·2⁻²⁴ of src (1e-5 relative at 130 → 27) against float64.
/// Plain fields and no captured state, so ILGPU kernels call it too.
/// </summary>
internal readonly struct LinearTaps
{
    public readonly int I0, I1;
    public readonly float W0, W1;

    public LinearTaps(int i0, int i1, float w0, float w1)
    {
        I0 = i0; I1 = i1; W0 = w0; W1 = w1;
    }

    public static LinearTaps Of(int inSize, int outSize, int dst)
    {
        long num = (2L * dst + 1) * inSize - outSize, den = 2L * outSize;
        if (num <= 0) return new LinearTaps(0, 0, 1f, 0f);
        long i0 = num / den;
        if (i0 >= inSize - 1) return new LinearTaps(inSize - 1, inSize - 1, 1f, 0f);
        float w1 = (float)(num - i0 * den) / den;
        return new LinearTaps((int)i0, (int)i0 + 1, 1f - w1, w1);
    }

    public static LinearTaps[] All(int inSize, int outSize)
    {
        var taps = new LinearTaps[outSize];
        for (int i = 0; i < outSize; i++) taps[i] = Of(inSize, outSize, i);
        return taps;
    }

    /// <summary>The same taps in float64 straight from the formula, for references.</summary>
    public static (int I0, int I1, double W0, double W1) Exact(int inSize, int outSize, int dst)
    {
        double src = Math.Max((dst + 0.5) * inSize / outSize - 0.5, 0);
        int i0 = Math.Min((int)src, inSize - 1);
        int i1 = i0 < inSize - 1 ? i0 + 1 : i0;
        double w1 = Math.Clamp(src - i0, 0, 1);
        return (i0, i1, 1 - w1, w1);
    }
}
