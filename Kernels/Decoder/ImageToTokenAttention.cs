using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// The mask decoder's image→token attention in folded form, with its residual and the LayerNorm
/// after it (the block's norm4): every image token j queries the prompt's R = h·T key rows, one
/// softmax over each head's T rows, and takes the matching rows of u (the values already through
/// out_proj):
/// y[b, j] = LayerNorm(image[j] + outBias + Σ_r P[r, j] u[b, r]),
/// P[r, j] = softmax over r in r's head of (scale · k[b, r]·(queries[j] + pe[j]) + kBias[b, r]).
/// The queries are the image itself (k folded through q_proj, C channels) or the image's q_proj
/// made once per image (k the heads' keys spread block-diagonally over the I channels).
/// k [B, R, Cq], kBias [B, R] or none, queries [Bq, HW, Cq], pe [HW, Cq] or none, u [B, R, C],
/// image [Bi, HW, C] (Bq, Bi each B or 1), outBias, gamma, beta [C], y [B, HW, C].
/// <para>
/// Every step is local to one image token, so the native path (<see cref="ImageToTokenAttentionCpu"/>)
/// takes a tile of tokens from the image to the normalised output while it is in cache; the
/// composed form makes four passes over [B, HW, C] tensors and two over the scores.
/// </para>
/// </summary>
internal static class ImageToTokenAttention
{
    public static void Forward(Tensor k, Tensor? kBias, int headRows, Tensor queries, Tensor? pe, float scale, Tensor u, Tensor outBias,
        Tensor image, Tensor gamma, Tensor beta, float eps, Tensor y)
    {
        var s = Shape(k, kBias, headRows, queries, pe, u, outBias, image, gamma, beta, y);
        if (y.Length == 0) return;
        // The composed form's ops profile themselves.
        if (y.Device.IsIlgpu)
        {
            Composed(k, kBias, queries, pe, scale, u, outBias, image, gamma, beta, eps, y, s);
            return;
        }
        using var _ = Profiler.Launch(y.Device, "image_to_token",
            2.0 * s.B * s.R * s.HW * (s.Cq + s.C) + 6.0 * s.B * s.R * s.HW + 10.0 * s.B * s.HW * s.C,
            4.0 * (k.Length + u.Length + queries.Length + (pe?.Length ?? 0) + image.Length + y.Length));
        ImageToTokenAttentionCpu.Run(s, k, kBias, queries, pe, scale, u, outBias, image, gamma, beta, eps, y);
    }

    /// <summary>
    /// B prompts of R = Heads·T key rows of Cq channels; Bq × HW queries of Cq channels; an image
    /// of Bi × HW tokens of C channels.
    /// </summary>
    internal readonly record struct Sizes(int B, int Bq, int Bi, int R, int T, int HW, int Cq, int C);

    static Sizes Shape(Tensor k, Tensor? kBias, int t, Tensor queries, Tensor? pe, Tensor u, Tensor outBias, Tensor image,
        Tensor gamma, Tensor beta, Tensor y)
    {
        if (k.Rank != 3 || queries.Rank != 3 || u.Rank != 3 || image.Rank != 3 || y.Rank != 3)
            throw new ArgumentException($"image_to_token: expected k [B, R, Cq], queries [B, HW, Cq], u [B, R, C], image [B, HW, C], y [B, HW, C], got {k.ShapeString}, {queries.ShapeString}, {u.ShapeString}, {image.ShapeString}, {y.ShapeString}");
        var s = new Sizes(k.Dim(0), queries.Dim(0), image.Dim(0), k.Dim(1), t, image.Dim(1), k.Dim(2), image.Dim(2));
        if (t < 1 || s.R % t != 0)
            throw new ArgumentException($"image_to_token: {s.R} key rows do not split into heads of {t}");
        if (queries.Dim(1) != s.HW || queries.Dim(2) != s.Cq || (s.Bq != s.B && s.Bq != 1) || (s.Bi != s.B && s.Bi != 1)
            || !u.Shape.SequenceEqual([s.B, s.R, s.C]) || !y.Shape.SequenceEqual([s.B, s.HW, s.C]))
            throw new ArgumentException($"image_to_token: k {k.ShapeString}, queries {queries.ShapeString}, u {u.ShapeString}, image {image.ShapeString} → {y.ShapeString} do not agree");
        if ((kBias != null && kBias.Length != (long)s.B * s.R) || outBias.Length != s.C || gamma.Length != s.C || beta.Length != s.C)
            throw new ArgumentException($"image_to_token: kBias {kBias?.ShapeString}, outBias {outBias.ShapeString}, gamma {gamma.ShapeString}, beta {beta.ShapeString} are not [{s.B}, {s.R}] and [{s.C}]");
        if (pe != null && pe.Length != (long)s.HW * s.Cq)
            throw new ArgumentException($"image_to_token: pe {pe.ShapeString} is not [{s.HW}, {s.Cq}]");
        return s;
    }

    // Keys-major scores [B, R, HW], the softmax down each head's T rows, then the output GEMM.
    static void Composed(Tensor k, Tensor? kBias, Tensor queries, Tensor? pe, float scale, Tensor u, Tensor outBias, Tensor image,
        Tensor gamma, Tensor beta, float eps, Tensor y, Sizes s)
    {
        var device = y.Device;
        using var q = pe != null ? Tensor.Empty(device, queries.Shape) : null;
        if (q != null) Add.Forward(queries, pe!, q);
        using var p = Tensor.Empty(device, s.B, s.R, s.HW);
        Gemm.Forward(k, q ?? queries, p, transB: true);
        var blocks = p.Reshape(s.B * s.R / s.T, s.T, s.HW);
        ColumnSoftmax.Forward(blocks, blocks, scale, kBias?.Reshape(s.B * s.R / s.T, s.T));
        using var sum = Tensor.Empty(device, s.B, s.HW, s.C);
        if (s.Bi == s.B) Gemm.Forward(p, u, sum, transA: true, bias: outBias, residual: image);
        else
            for (int b = 0; b < s.B; b++) Gemm.Forward(p.Slice(b, 1), u.Slice(b, 1), sum.Slice(b, 1), transA: true, bias: outBias, residual: image);
        LayerNorm.Forward(sum, gamma, beta, eps, y);
    }

    public static double[] Reference(double[] k, double[]? kBias, int t, double[] queries, double[]? pe, double scale, double[] u,
        double[] outBias, double[] image, double[] gamma, double[] beta, double eps, int b, int bq, int bi, int r, int hw, int cq, int c)
    {
        var y = new double[(long)b * hw * c];
        var p = new double[r];
        var x = new double[c];
        for (int bb = 0; bb < b; bb++)
            for (int j = 0; j < hw; j++)
            {
                long qo = ((long)(bq == 1 ? 0 : bb) * hw + j) * cq, img = ((long)(bi == 1 ? 0 : bb) * hw + j) * c;
                for (int ri = 0; ri < r; ri++)
                {
                    double dot = 0;
                    for (int ci = 0; ci < cq; ci++) dot += k[((long)bb * r + ri) * cq + ci] * (queries[qo + ci] + (pe?[(long)j * cq + ci] ?? 0));
                    p[ri] = scale * dot + (kBias?[bb * r + ri] ?? 0);
                }
                for (int h0 = 0; h0 < r; h0 += t)
                {
                    double max = double.NegativeInfinity, sum = 0;
                    for (int i = h0; i < h0 + t; i++) max = Math.Max(max, p[i]);
                    for (int i = h0; i < h0 + t; i++) sum += p[i] = Math.Exp(p[i] - max);
                    for (int i = h0; i < h0 + t; i++) p[i] /= sum;
                }
                for (int ci = 0; ci < c; ci++)
                {
                    double v = image[img + ci] + outBias[ci];
                    for (int ri = 0; ri < r; ri++) v += p[ri] * u[((long)bb * r + ri) * c + ci];
                    x[ci] = v;
                }
                var normed = LayerNorm.Reference(x, gamma, beta, eps);
                Array.Copy(normed, 0, y, ((long)bb * hw + j) * c, c);
            }
        return y;
    }
}

internal sealed class ImageToTokenAttentionChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // One head of one token; a shared image over several tiles; prompts with their own image
        // and no pe or key bias; queries of their own width (projected, shared) beside the image;
        // the decoder's 8 heads of 7 tokens over 256 channels.
        bool small = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        (int B, int Bq, int Bi, int H, int T, int HW, int Cq, int C, bool Pe, bool Bias)[] shapes = small
            ? [(1, 1, 1, 1, 1, 9, 8, 8, true, true), (3, 1, 1, 2, 3, 130, 24, 24, true, true), (2, 2, 2, 4, 2, 70, 16, 16, false, false),
               (3, 1, 3, 2, 3, 40, 12, 20, false, false)]
            : [(1, 1, 1, 1, 1, 9, 8, 8, true, true), (3, 1, 1, 2, 3, 130, 24, 24, true, true), (2, 2, 2, 4, 2, 70, 16, 16, false, false),
               (3, 1, 3, 2, 3, 140, 12, 20, false, false), (2, 2, 2, 8, 7, 1100, 256, 256, true, true), (2, 1, 1, 8, 7, 600, 128, 256, false, false)];
        foreach (var sh in shapes)
            yield return new KernelCheck("image_to_token",
                $"[{sh.B}×{sh.H}·{sh.T}×{sh.Cq}] from [{sh.Bq}×{sh.HW}×{sh.Cq}]{(sh.Pe ? " + pe" : "")}{(sh.Bias ? " + bias" : "")} onto [{sh.Bi}×{sh.HW}×{sh.C}]", 2e-6,
                d => Run(d, sh.B, sh.Bq, sh.Bi, sh.H * sh.T, sh.T, sh.HW, sh.Cq, sh.C, sh.Pe, sh.Bias));
    }

    static Comparison Run(Device d, int b, int bq, int bi, int r, int t, int hw, int cq, int c, bool withPe, bool withBias)
    {
        float scale = 2f / MathF.Sqrt(cq), eps = 1e-5f;
        var k = CheckData.Uniform(91, (long)b * r * cq);
        var kBias = withBias ? CheckData.Uniform(92, (long)b * r) : null;
        var queries = CheckData.Uniform(93, (long)bq * hw * cq);
        var pe = withPe ? CheckData.Uniform(94, (long)hw * cq, -0.5f, 0.5f) : null;
        var u = CheckData.Uniform(95, (long)b * r * c);
        var outBias = CheckData.Uniform(96, c);
        // The image is the queries themselves where they match, as in the decoder's later blocks.
        var image = bi == bq && c == cq ? queries : CheckData.Uniform(99, (long)bi * hw * c);
        var gamma = CheckData.Uniform(97, c, 0.5f, 1.5f);
        var beta = CheckData.Uniform(98, c);
        using var tk = CheckData.Upload(d, k, b, r, cq);
        using var tkb = kBias != null ? CheckData.Upload(d, kBias, b, r) : null;
        using var tq = CheckData.Upload(d, queries, bq, hw, cq);
        using var tp = pe != null ? CheckData.Upload(d, pe, hw, cq) : null;
        using var tu = CheckData.Upload(d, u, b, r, c);
        using var tob = CheckData.Upload(d, outBias, c);
        using var ti = CheckData.Upload(d, image, bi, hw, c);
        using var tg = CheckData.Upload(d, gamma, c);
        using var tbeta = CheckData.Upload(d, beta, c);
        using var y = CheckData.Poisoned(d, b, hw, c);
        ImageToTokenAttention.Forward(tk, tkb, t, tq, tp, scale, tu, tob, ti, tg, tbeta, eps, y);
        var reference = ImageToTokenAttention.Reference(CheckData.Widen(k), kBias != null ? CheckData.Widen(kBias) : null, t,
            CheckData.Widen(queries), pe != null ? CheckData.Widen(pe) : null, scale, CheckData.Widen(u), CheckData.Widen(outBias),
            CheckData.Widen(image), CheckData.Widen(gamma), CheckData.Widen(beta), eps, b, bq, bi, r, hw, cq, c);
        return Comparison.Of(reference, y.Download());
    }
}
