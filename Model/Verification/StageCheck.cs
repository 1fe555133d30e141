using SamEngine.Engine;

namespace SamEngine.Model;

/// <summary>
/// One compared stage: our float32 result against the float64 reference. Exact stages (the
/// uint8 resize) must match bit for bit; the others must stay within twice the relative L2
/// error that PyTorch's own float32 run shows on the same stage.
/// </summary>
/// <param name="Detail">What the check found beyond the numbers, e.g. the first differing pixel of a decode.</param>
internal sealed record StageCheck(string Image, string Stage, double MaxAbs, double RelL2, double? TorchRelL2, bool Exact = false, string? Detail = null)
{
    public const double Bound = 2.0;

    /// <summary>PyTorch float32's max abs error on the stage, where the max abs error is held to twice it as well.</summary>
    public double? TorchMaxAbs { get; init; }

    /// <summary>The verdict of a check decided otherwise than by error ratios (mask pixels flipped, AMG records).</summary>
    public bool? Verdict { get; init; }

    public double? Ratio => TorchRelL2 is > 0 ? RelL2 / TorchRelL2 : null;

    public bool Pass => Verdict ?? (Exact ? MaxAbs == 0
        : Ratio is { } r && r <= Bound && (TorchMaxAbs is not { } m || MaxAbs <= Bound * m));

    public static StageCheck Compare(string image, string stage, ReadOnlySpan<float> ours, ReadOnlySpan<float> reference, double? torchRelL2)
    {
        if (ours.Length != reference.Length)
            throw new SamException($"{image}/{stage}: {ours.Length} values against a reference of {reference.Length}");
        double maxAbs = 0, diff2 = 0, ref2 = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double d = (double)ours[i] - reference[i];
            maxAbs = double.IsNaN(d) ? double.NaN : Math.Max(maxAbs, Math.Abs(d));
            diff2 += d * d;
            ref2 += (double)reference[i] * reference[i];
        }
        return new StageCheck(image, stage, maxAbs, Math.Sqrt(diff2 / Math.Max(ref2, double.Epsilon)), torchRelL2);
    }
}
