namespace SamEngine.Kernels.Check;

/// <summary>
/// Error of a float32 result against its float64 reference. RelErr is the max abs error over the
/// reference's max magnitude, so one tolerance serves inputs of any scale.
/// </summary>
internal readonly record struct Comparison(double MaxAbsErr, double RefMaxAbs, double RelL2, int NonFinite)
{
    public double RelErr => RefMaxAbs > 0 ? MaxAbsErr / RefMaxAbs : MaxAbsErr;

    public bool Within(double tolerance) => NonFinite == 0 && RelErr <= tolerance;

    public static Comparison Of(ReadOnlySpan<double> reference, ReadOnlySpan<float> actual)
    {
        if (reference.Length != actual.Length)
            throw new ArgumentException($"reference has {reference.Length} values, result {actual.Length}");
        double maxErr = 0, refMax = 0, errSq = 0, refSq = 0;
        int nonFinite = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i], a = actual[i];
            if (!double.IsFinite(a) && double.IsFinite(r)) { nonFinite++; continue; }
            double e = Math.Abs(a - r);
            if (double.IsFinite(r))
            {
                maxErr = Math.Max(maxErr, e);
                refMax = Math.Max(refMax, Math.Abs(r));
                errSq += e * e;
                refSq += r * r;
            }
        }
        return new Comparison(maxErr, refMax, refSq > 0 ? Math.Sqrt(errSq / refSq) : Math.Sqrt(errSq), nonFinite);
    }
}
