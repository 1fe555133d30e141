using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// Fused scaled-dot-product attention: output[b,n,:] = softmax(scale · q[b,n]·k[b]ᵀ + rel bias) · v[b]
/// for q [B, Nq, d], k [B, Nk, d], v [B, Nk, dv], output [B, Nq, dv]; B folds batch and heads.
/// The score matrix is never materialised whole: the cpu path works on a block of query rows
/// against a tile of keys at a time, the ILGPU kernels one row or one query tile per thread/group.
/// Like the reference, q is scaled before the product (q·scale)·kᵀ and the rel bias uses the unscaled q.
/// </summary>
internal static class Attention
{
    public static void Forward(Tensor q, Tensor k, Tensor v, float scale, Tensor output, RelPosBias? rel = null)
    {
        var s = AttentionShape.Of(q, k, v, output, scale, rel);
        using var _ = Profiler.Launch(output.Device, "attention", s.Flops,
            4.0 * (q.Length + k.Length + v.Length + output.Length + (rel != null ? rel.RelH.Length + rel.RelW.Length : 0)));
        if (s.Batch == 0 || s.Nq == 0) return;
        if (output.Device.IsIlgpu) AttentionIlgpu.Forward(output.Device, q, k, v, output, rel, s);
        else AttentionCpu.Forward(q, k, v, output, rel, s);
    }

    /// <summary>
    /// Float64 attention with the scores materialised, in the reference's order of operations.
    /// relH [qh, kh, d] and relW [qw, kw, d] are optional (both or neither).
    /// </summary>
    public static double[] Reference(double[] q, double[] k, double[] v, int batch, int nq, int nk, int d, int dv, double scale,
        double[]? relH = null, double[]? relW = null, int qh = 0, int qw = 0, int kh = 0, int kw = 0)
    {
        var output = new double[(long)batch * nq * dv];
        var scores = new double[nk];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < nq; i++)
            {
                long qRow = ((long)b * nq + i) * d;
                for (int j = 0; j < nk; j++)
                {
                    long kRow = ((long)b * nk + j) * d;
                    double dot = 0;
                    for (int c = 0; c < d; c++) dot += q[qRow + c] * scale * k[kRow + c];
                    scores[j] = dot;
                }
                if (relH != null && relW != null)
                {
                    int qi = i / qw, qj = i % qw;
                    for (int j = 0; j < nk; j++)
                    {
                        int ki = j / kw, kj = j % kw;
                        double h = 0, w = 0;
                        for (int c = 0; c < d; c++)
                        {
                            h += q[qRow + c] * relH[((long)qi * kh + ki) * d + c];
                            w += q[qRow + c] * relW[((long)qj * kw + kj) * d + c];
                        }
                        scores[j] += h + w;
                    }
                }
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < nk; j++) max = Math.Max(max, scores[j]);
                for (int j = 0; j < nk; j++) sum += scores[j] = Math.Exp(scores[j] - max);
                long oRow = ((long)b * nq + i) * dv;
                for (int j = 0; j < nk; j++)
                {
                    double p = scores[j] / sum;
                    long vRow = ((long)b * nk + j) * dv;
                    for (int c = 0; c < dv; c++) output[oRow + c] += p * v[vRow + c];
                }
            }
        return output;
    }
}

/// <summary>The validated dimensions of one attention call.</summary>
readonly record struct AttentionShape(int Batch, int Nq, int Nk, int D, int Dv, float Scale, bool HasRel, int Qh, int Qw, int Kh, int Kw)
{
    public double Flops => 2.0 * Batch * Nq * ((double)Nk * (D + Dv) + (HasRel ? (double)(Kh + Kw) * D + Nk : 0));

    public static AttentionShape Of(Tensor q, Tensor k, Tensor v, Tensor output, float scale, RelPosBias? rel)
    {
        string shapes = $"q {q.ShapeString}, k {k.ShapeString}, v {v.ShapeString}, output {output.ShapeString}";
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3 || output.Rank != 3)
            throw new ArgumentException($"attention: q, k, v and output must be [B, N, d]: {shapes}");
        int batch = q.Dim(0), nq = q.Dim(1), d = q.Dim(2), nk = k.Dim(1), dv = v.Dim(2);
        if (k.Dim(0) != batch || v.Dim(0) != batch || output.Dim(0) != batch || k.Dim(2) != d || v.Dim(1) != nk
            || output.Dim(1) != nq || output.Dim(2) != dv)
            throw new ArgumentException($"attention: shapes do not agree: {shapes}");
        if (nk == 0 && nq > 0 && batch > 0) throw new ArgumentException($"attention: no keys to attend to: {shapes}");
        var kind = output.Device.Kind;
        if (q.Device.Kind != kind || k.Device.Kind != kind || v.Device.Kind != kind)
            throw new ArgumentException($"attention: operands live on different devices: {shapes}");
        if (output.Device.IsIlgpu && (d > AttentionIlgpu.MaxHeadDim || dv > AttentionIlgpu.MaxHeadDim))
            throw new ArgumentException($"attention: head dims above {AttentionIlgpu.MaxHeadDim} are not supported on ILGPU devices: {shapes}");
        if (!float.IsFinite(scale)) throw new ArgumentException($"attention: scale {scale} is not finite");
        if (rel == null) return new AttentionShape(batch, nq, nk, d, dv, scale, false, 0, 0, 0, 0);

        string relShapes = $"RelH {rel.RelH.ShapeString}, RelW {rel.RelW.ShapeString}, grids {rel.Qh}×{rel.Qw} → {rel.Kh}×{rel.Kw}, {shapes}";
        if (rel.Qh <= 0 || rel.Qw <= 0 || rel.Kh <= 0 || rel.Kw <= 0 || (long)rel.Qh * rel.Qw != nq || (long)rel.Kh * rel.Kw != nk)
            throw new ArgumentException($"attention: rel-pos grids do not tile the query/key sequences: {relShapes}");
        if (rel.RelH.Rank != 3 || rel.RelH.Dim(0) != rel.Qh || rel.RelH.Dim(1) != rel.Kh || rel.RelH.Dim(2) != d
            || rel.RelW.Rank != 3 || rel.RelW.Dim(0) != rel.Qw || rel.RelW.Dim(1) != rel.Kw || rel.RelW.Dim(2) != d)
            throw new ArgumentException($"attention: rel-pos tables must be [qh, kh, d] and [qw, kw, d]: {relShapes}");
        if (rel.RelH.Device.Kind != kind || rel.RelW.Device.Kind != kind)
            throw new ArgumentException($"attention: rel-pos tables live on another device: {relShapes}");
        return new AttentionShape(batch, nq, nk, d, dv, scale, true, rel.Qh, rel.Qw, rel.Kh, rel.Kw);
    }
}
