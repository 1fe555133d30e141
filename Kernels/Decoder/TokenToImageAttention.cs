using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// The core of the mask decoder's token→image attention in folded form (the weights already moved
/// onto the tokens): each of R query rows attends over the HW image tokens,
/// y[b, r] = Σ_j softmax_j(scale · q[b, r]·(image[j] + pe[j])) image[j].
/// q [B, R, C], image [Bk, HW, C] (Bk = B, or 1 shared by every prompt), pe [HW, C] or none,
/// y [B, R, C].
/// <para>
/// The composed form materialises image + pe and the R×HW scores (two passes over the image, one
/// over the scores, each a DRAM round trip once prompts carry their own image). The native path
/// streams the image once in tiles, scores and weighs each tile while it is in cache, and keeps
/// the softmax online (a running maximum and sum per row, the partial sums rescaled when the
/// maximum grows): <see cref="TokenToImageAttentionCpu"/>.
/// </para>
/// </summary>
internal static class TokenToImageAttention
{
    public static void Forward(Tensor q, Tensor image, Tensor? pe, float scale, Tensor y)
    {
        var s = Shape(q, image, pe, y);
        if (y.Length == 0) return;
        // The composed form's ops profile themselves.
        if (y.Device.IsIlgpu || s.HW == 0)
        {
            Composed(q, image, pe, scale, y, s);
            return;
        }
        using var _ = Profiler.Launch(y.Device, "token_to_image", 4.0 * s.B * s.R * s.HW * s.C + 6.0 * s.B * s.R * s.HW,
            4.0 * (q.Length + image.Length + (pe?.Length ?? 0) + y.Length));
        TokenToImageAttentionCpu.Run(s, q, image, pe, scale, y);
    }

    internal readonly record struct Sizes(int B, int Bk, int R, int HW, int C);

    static Sizes Shape(Tensor q, Tensor image, Tensor? pe, Tensor y)
    {
        if (q.Rank != 3 || image.Rank != 3 || y.Rank != 3)
            throw new ArgumentException($"token_to_image: expected q [B, R, C], image [B, HW, C], y [B, R, C], got {q.ShapeString}, {image.ShapeString}, {y.ShapeString}");
        var s = new Sizes(q.Dim(0), image.Dim(0), q.Dim(1), image.Dim(1), q.Dim(2));
        if (image.Dim(2) != s.C || (s.Bk != s.B && s.Bk != 1) || !y.Shape.SequenceEqual(q.Shape))
            throw new ArgumentException($"token_to_image: q {q.ShapeString}, image {image.ShapeString} → {y.ShapeString} do not agree");
        if (pe != null && pe.Length != (long)s.HW * s.C)
            throw new ArgumentException($"token_to_image: pe {pe.ShapeString} is not [{s.HW}, {s.C}]");
        return s;
    }

    // The reference's order, op by op.
    static void Composed(Tensor q, Tensor image, Tensor? pe, float scale, Tensor y, Sizes s)
    {
        var device = y.Device;
        using var keys = pe != null ? Tensor.Empty(device, image.Shape) : null;
        if (keys != null) Add.Forward(image, pe!, keys);
        using var p = Tensor.Empty(device, s.B, s.R, s.HW);
        Gemm.Forward(q, keys ?? image, p, transB: true);
        Softmax.Forward(p, p, scale);
        Gemm.Forward(p, image, y);
    }

    public static double[] Reference(double[] q, double[] image, double[]? pe, double scale, int b, int bk, int r, int hw, int c)
    {
        var y = new double[(long)b * r * c];
        var logits = new double[hw];
        for (int bi = 0; bi < b; bi++)
        {
            long img = (long)(bk == 1 ? 0 : bi) * hw * c;
            for (int ri = 0; ri < r; ri++)
            {
                long qo = ((long)bi * r + ri) * c;
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < hw; j++)
                {
                    double dot = 0;
                    for (int ci = 0; ci < c; ci++) dot += q[qo + ci] * (image[img + (long)j * c + ci] + (pe?[(long)j * c + ci] ?? 0));
                    logits[j] = scale * dot;
                    max = Math.Max(max, logits[j]);
                }
                for (int j = 0; j < hw; j++) sum += logits[j] = Math.Exp(logits[j] - max);
                for (int j = 0; j < hw; j++)
                    for (int ci = 0; ci < c; ci++) y[qo + ci] += logits[j] / sum * image[img + (long)j * c + ci];
            }
        }
        return y;
    }
}

internal sealed class TokenToImageAttentionChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // One partial tile; several tiles with a shared image; prompts with their own image, no pe;
        // and the decoder's own 56 rows of 256 channels over a grid larger than the native chunks.
        bool small = device.Kind == DeviceKind.IlgpuCpu && device.Variant == KernelVariant.Tuned;
        (int B, int Bk, int R, int HW, int C, bool Pe)[] shapes = small
            ? [(1, 1, 8, 37, 16, true), (3, 1, 12, 130, 24, true), (2, 2, 5, 70, 8, false)]
            : [(1, 1, 8, 37, 16, true), (3, 1, 12, 130, 24, true), (2, 2, 5, 70, 8, false), (2, 2, 56, 1100, 256, true), (1, 1, 56, 4096, 64, true)];
        foreach (var (b, bk, r, hw, c, pe) in shapes)
            yield return new KernelCheck("token_to_image", $"[{b}×{r}×{c}] over [{bk}×{hw}×{c}]{(pe ? " + pe" : "")}", 2e-6,
                d => Run(d, b, bk, r, hw, c, pe));
    }

    static Comparison Run(Device d, int b, int bk, int r, int hw, int c, bool withPe)
    {
        // Scale 1/√c keeps the logits of order one; image values of order one then make the
        // softmax neither flat nor one-hot.
        float scale = 2f / MathF.Sqrt(c);
        var q = CheckData.Uniform(81, (long)b * r * c);
        var image = CheckData.Uniform(82, (long)bk * hw * c);
        var pe = withPe ? CheckData.Uniform(83, (long)hw * c, -0.5f, 0.5f) : null;
        using var tq = CheckData.Upload(d, q, b, r, c);
        using var ti = CheckData.Upload(d, image, bk, hw, c);
        using var tp = pe != null ? CheckData.Upload(d, pe, hw, c) : null;
        using var y = CheckData.Poisoned(d, b, r, c);
        TokenToImageAttention.Forward(tq, ti, tp, scale, y);
        var reference = TokenToImageAttention.Reference(CheckData.Widen(q), CheckData.Widen(image), pe != null ? CheckData.Widen(pe) : null,
            scale, b, bk, r, hw, c);
        return Comparison.Of(reference, y.Download());
    }
}
