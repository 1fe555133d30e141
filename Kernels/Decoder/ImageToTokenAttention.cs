using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// The mask decoder's image→token attention in folded form, with its residual and the LayerNorm
/// after it (the block's norm4): every image token j queries the prompt's R = h·T folded key rows,
/// one softmax over each head's T rows, and takes the matching rows of u (the values already
/// through out_proj):
/// y[b, j] = LayerNorm(image[j] + outBias + Σ_r P[r, j] u[b, r]),
/// P[r, j] = softmax over r in r's head of (scale · k[b, r]·(image[j] + pe[j]) + kBias[b, r]).
/// k and u [B, R, C], kBias [B, R], image [Bi, HW, C] (Bi = B or 1), pe [HW, C] or none,
/// outBias, gamma, beta [C], y [B, HW, C].
/// <para>
/// Every step is local to one image token, so the native path (<see cref="ImageToTokenAttentionCpu"/>)
/// takes a tile of tokens from the image to the normalised output while it is in cache; the
/// composed form makes four passes over [B, HW, C] tensors and two over the scores.
/// </para>
/// </summary>
public static class ImageToTokenAttention
{
    public static void Forward(Tensor k, Tensor kBias, int headRows, Tensor image, Tensor? pe, float scale, Tensor u, Tensor outBias,
        Tensor gamma, Tensor beta, float eps, Tensor y)
    {
        var s = Shape(k, kBias, headRows, image, pe, u, outBias, gamma, beta, y);
        if (y.Length == 0) return;
        // The composed form's ops profile themselves.
        if (y.Device.IsIlgpu)
        {
            Composed(k, kBias, image, pe, scale, u, outBias, gamma, beta, eps, y, s);
            return;
        }
        using var _ = Profiler.Launch(y.Device, "image_to_token", 4.0 * s.B * s.R * s.HW * s.C + 6.0 * s.B * s.R * s.HW + 10.0 * s.B * s.HW * s.C,
            4.0 * (k.Length + u.Length + image.Length + (pe?.Length ?? 0) + y.Length));
        ImageToTokenAttentionCpu.Run(s, k, kBias, image, pe, scale, u, outBias, gamma, beta, eps, y);
    }

    /// <summary>B prompts of R = Heads·T key rows, an image of Bi × HW tokens of C channels.</summary>
    internal readonly record struct Sizes(int B, int Bi, int R, int T, int HW, int C);

    static Sizes Shape(Tensor k, Tensor kBias, int t, Tensor image, Tensor? pe, Tensor u, Tensor outBias, Tensor gamma, Tensor beta, Tensor y)
    {
        if (k.Rank != 3 || image.Rank != 3 || y.Rank != 3)
            throw new ArgumentException($"image_to_token: expected k [B, R, C], image [B, HW, C], y [B, HW, C], got {k.ShapeString}, {image.ShapeString}, {y.ShapeString}");
        var s = new Sizes(k.Dim(0), image.Dim(0), k.Dim(1), t, image.Dim(1), k.Dim(2));
        if (t < 1 || s.R % t != 0)
            throw new ArgumentException($"image_to_token: {s.R} key rows do not split into heads of {t}");
        if (image.Dim(2) != s.C || (s.Bi != s.B && s.Bi != 1) || !y.Shape.SequenceEqual([s.B, s.HW, s.C]) || !u.Shape.SequenceEqual(k.Shape))
            throw new ArgumentException($"image_to_token: k {k.ShapeString}, u {u.ShapeString}, image {image.ShapeString} → {y.ShapeString} do not agree");
        if (kBias.Length != (long)s.B * s.R || outBias.Length != s.C || gamma.Length != s.C || beta.Length != s.C)
            throw new ArgumentException($"image_to_token: kBias {kBias.ShapeString}, outBias {outBias.ShapeString}, gamma {gamma.ShapeString}, beta {beta.ShapeString} are not [{s.B}, {s.R}] and [{s.C}]");
        if (pe != null && pe.Length != (long)s.HW * s.C)
            throw new ArgumentException($"image_to_token: pe {pe.ShapeString} is not [{s.HW}, {s.C}]");
        return s;
    }

    // Keys-major scores [B, R, HW], the softmax down each head's T rows, then the output GEMM.
    static void Composed(Tensor k, Tensor kBias, Tensor image, Tensor? pe, float scale, Tensor u, Tensor outBias,
        Tensor gamma, Tensor beta, float eps, Tensor y, Sizes s)
    {
        var device = y.Device;
        using var queries = pe != null ? Tensor.Empty(device, image.Shape) : null;
        if (queries != null) Add.Forward(image, pe!, queries);
        using var p = Tensor.Empty(device, s.B, s.R, s.HW);
        Gemm.Forward(k, queries ?? image, p, transB: true);
        var blocks = p.Reshape(s.B * s.R / s.T, s.T, s.HW);
        ColumnSoftmax.Forward(blocks, blocks, scale, kBias.Reshape(s.B * s.R / s.T, s.T));
        using var sum = Tensor.Empty(device, s.B, s.HW, s.C);
        if (s.Bi == s.B) Gemm.Forward(p, u, sum, transA: true, bias: outBias, residual: image);
        else
            for (int b = 0; b < s.B; b++) Gemm.Forward(p.Slice(b, 1), u.Slice(b, 1), sum.Slice(b, 1), transA: true, bias: outBias, residual: image);
        LayerNorm.Forward(sum, gamma, beta, eps, y);
    }

    public static double[] Reference(double[] k, double[] kBias, int t, double[] image, double[]? pe, double scale, double[] u, double[] outBias,
        double[] gamma, double[] beta, double eps, int b, int bi, int r, int hw, int c)
    {
        var y = new double[(long)b * hw * c];
        var p = new double[r];
        var x = new double[c];
        for (int bb = 0; bb < b; bb++)
            for (int j = 0; j < hw; j++)
            {
                long img = ((long)(bi == 1 ? 0 : bb) * hw + j) * c;
                for (int ri = 0; ri < r; ri++)
                {
                    double dot = 0;
                    for (int ci = 0; ci < c; ci++) dot += k[((long)bb * r + ri) * c + ci] * (image[img + ci] + (pe?[(long)j * c + ci] ?? 0));
                    p[ri] = scale * dot + kBias[bb * r + ri];
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

public sealed class ImageToTokenAttentionChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // One head of one token; a shared image over several tiles; prompts with their own image
        // and no pe; the decoder's 8 heads of 7 tokens over 256 channels.
        bool small = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        (int B, int Bi, int H, int T, int HW, int C, bool Pe)[] shapes = small
            ? [(1, 1, 1, 1, 9, 8, true), (3, 1, 2, 3, 130, 24, true), (2, 2, 4, 2, 70, 16, false)]
            : [(1, 1, 1, 1, 9, 8, true), (3, 1, 2, 3, 130, 24, true), (2, 2, 4, 2, 70, 16, false), (2, 2, 8, 7, 1100, 256, true)];
        foreach (var (b, bi, h, t, hw, c, pe) in shapes)
            yield return new KernelCheck("image_to_token", $"[{b}×{h}·{t}×{c}] from [{bi}×{hw}×{c}]{(pe ? " + pe" : "")}", 2e-6,
                d => Run(d, b, bi, h * t, t, hw, c, pe));
    }

    static Comparison Run(Device d, int b, int bi, int r, int t, int hw, int c, bool withPe)
    {
        float scale = 2f / MathF.Sqrt(c), eps = 1e-5f;
        var k = CheckData.Uniform(91, (long)b * r * c);
        var kBias = CheckData.Uniform(92, (long)b * r);
        var image = CheckData.Uniform(93, (long)bi * hw * c);
        var pe = withPe ? CheckData.Uniform(94, (long)hw * c, -0.5f, 0.5f) : null;
        var u = CheckData.Uniform(95, (long)b * r * c);
        var outBias = CheckData.Uniform(96, c);
        var gamma = CheckData.Uniform(97, c, 0.5f, 1.5f);
        var beta = CheckData.Uniform(98, c);
        using var tk = CheckData.Upload(d, k, b, r, c);
        using var tkb = CheckData.Upload(d, kBias, b, r);
        using var ti = CheckData.Upload(d, image, bi, hw, c);
        using var tp = pe != null ? CheckData.Upload(d, pe, hw, c) : null;
        using var tu = CheckData.Upload(d, u, b, r, c);
        using var tob = CheckData.Upload(d, outBias, c);
        using var tg = CheckData.Upload(d, gamma, c);
        using var tbeta = CheckData.Upload(d, beta, c);
        using var y = CheckData.Poisoned(d, b, hw, c);
        ImageToTokenAttention.Forward(tk, tkb, t, ti, tp, scale, tu, tob, tg, tbeta, eps, y);
        var reference = ImageToTokenAttention.Reference(CheckData.Widen(k), CheckData.Widen(kBias), t, CheckData.Widen(image),
            pe != null ? CheckData.Widen(pe) : null, scale, CheckData.Widen(u), CheckData.Widen(outBias), CheckData.Widen(gamma),
            CheckData.Widen(beta), eps, b, bi, r, hw, c);
        return Comparison.Of(reference, y.Download());
    }
}
