using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// The mask decoder's head from the transformer's image tokens to the mask logits: the
/// reference's output_upscaling (ConvTranspose2d(C → C1, 2, stride 2), LayerNorm2d, GELU,
/// ConvTranspose2d(C1 → C2, 2, stride 2), GELU) followed by masks = hyper_in @ upscaled, each
/// mask's C2 hypernetwork weights dotted with the C2 channels of every upscaled pixel.
///
/// keys [B, h·w, C] (token-major, as the transformer leaves them), conv weights [Cin, Cout, 2, 2],
/// hyper [B, M, C2] → masks [B, M, 4h, 4w]. Every step is local to one input pixel: pixel (y, x)
/// alone makes the 16 logits at (4y + 2a + c, 4x + 2b + d), (a, b) the first conv's tap and (c, d)
/// the second's. The native path uses that to keep each tile of pixels in cache from token to
/// logit (<see cref="OutputUpscalingCpu"/>); ILGPU devices run the composed ops.
/// </summary>
internal static class OutputUpscaling
{
    public static void Forward(Tensor keys, Tensor conv1Weight, Tensor conv1Bias, Tensor normWeight, Tensor normBias, float normEps,
        Tensor conv2Weight, Tensor conv2Bias, Tensor hyper, Tensor masks)
    {
        var s = OutputUpscalingShape.Of(keys, conv1Weight, conv1Bias, normWeight, normBias, conv2Weight, conv2Bias, hyper, masks);
        if (masks.Length == 0) return;
        if (!masks.Device.IsIlgpu && OutputUpscalingCpu.Supported)
        {
            using var _ = Profiler.Launch(masks.Device, "output_upscaling", s.Flops,
                4.0 * (keys.Length + conv1Weight.Length + conv2Weight.Length + hyper.Length + masks.Length));
            OutputUpscalingCpu.Run(s, keys, conv1Weight, conv1Bias, normWeight, normBias, normEps, conv2Weight, conv2Bias, hyper, masks);
        }
        else Composed(s, keys, conv1Weight, conv1Bias, normWeight, normBias, normEps, conv2Weight, conv2Bias, hyper, masks);
    }

    // The reference's sequence op by op, each upscaled image materialised.
    static void Composed(OutputUpscalingShape s, Tensor keys, Tensor conv1Weight, Tensor conv1Bias, Tensor normWeight, Tensor normBias,
        float normEps, Tensor conv2Weight, Tensor conv2Bias, Tensor hyper, Tensor masks)
    {
        var device = masks.Device;
        using var image = Tensor.Empty(device, s.B, s.C, s.H, s.W);
        Permute.Forward(keys, [0, 2, 1], image.Reshape(s.B, s.C, s.H * s.W));
        using var x1 = Tensor.Empty(device, s.B, s.C1, 2 * s.H, 2 * s.W);
        ConvTranspose2d.Forward(image, conv1Weight, conv1Bias, x1);
        LayerNorm2d.Forward(x1, normWeight, normBias, normEps, x1);
        Gelu.Forward(x1, x1);
        using var upscaled = Tensor.Empty(device, s.B, s.C2, 4 * s.H, 4 * s.W);
        ConvTranspose2d.Forward(x1, conv2Weight, conv2Bias, upscaled);
        Gelu.Forward(upscaled, upscaled);
        Gemm.Forward(hyper, upscaled.Reshape(s.B, s.C2, 16 * s.H * s.W), masks.Reshape(s.B, s.M, 16 * s.H * s.W));
    }

    /// <summary>The composition of the ops' float64 references.</summary>
    public static double[] Reference(OutputUpscalingShape s, double[] keys, double[] conv1Weight, double[] conv1Bias,
        double[] normWeight, double[] normBias, double normEps, double[] conv2Weight, double[] conv2Bias, double[] hyper)
    {
        var image = Permute.Reference(keys, [s.B, s.H * s.W, s.C], [0, 2, 1]);
        var x1 = ConvTranspose2d.Reference(image, conv1Weight, conv1Bias, s.B, s.C, s.H, s.W, s.C1, 2);
        x1 = Gelu.Reference(LayerNorm2d.Reference(x1, s.B, s.C1, 4 * s.H * s.W, normWeight, normBias, normEps));
        var upscaled = Gelu.Reference(ConvTranspose2d.Reference(x1, conv2Weight, conv2Bias, s.B, s.C1, 2 * s.H, 2 * s.W, s.C2, 2));
        int pixels = 16 * s.H * s.W;
        var masks = new double[s.B * s.M * pixels];
        for (int b = 0; b < s.B; b++)
            for (int m = 0; m < s.M; m++)
                for (int p = 0; p < pixels; p++)
                {
                    double sum = 0;
                    for (int c = 0; c < s.C2; c++) sum += hyper[(b * s.M + m) * s.C2 + c] * upscaled[(b * s.C2 + c) * pixels + p];
                    masks[(b * s.M + m) * pixels + p] = sum;
                }
        return masks;
    }
}

/// <summary>
/// The validated sizes of <see cref="OutputUpscaling"/>: B prompts, an h×w grid of C-channel
/// tokens, C1 and C2 channels after the two transposed convolutions, M masks.
/// </summary>
internal readonly record struct OutputUpscalingShape(int B, int H, int W, int C, int C1, int C2, int M)
{
    // Per element of GELU: as Gelu's own count; per element of LayerNorm: as LayerNorm2d's.
    const double GeluFlops = 40, NormFlops = 9;

    public double Flops
    {
        get
        {
            double pixels = (double)B * H * W, children = 4 * pixels, grandchildren = 16 * pixels;
            return 2 * children * C1 * C + children * C1 * (NormFlops + GeluFlops)
                + 2 * grandchildren * C2 * C1 + grandchildren * C2 * GeluFlops + 2 * grandchildren * C2 * M;
        }
    }

    public static OutputUpscalingShape Of(Tensor keys, Tensor conv1Weight, Tensor conv1Bias, Tensor normWeight, Tensor normBias,
        Tensor conv2Weight, Tensor conv2Bias, Tensor hyper, Tensor masks)
    {
        if (keys.Rank != 3 || masks.Rank != 4 || hyper.Rank != 3 || conv1Weight.Rank != 4 || conv2Weight.Rank != 4)
            throw new ArgumentException($"output_upscaling: expected keys [B, hw, C], weights [Cin, Cout, 2, 2], hyper [B, M, C2], masks [B, M, 4h, 4w], got {keys.ShapeString}, {conv1Weight.ShapeString}, {conv2Weight.ShapeString}, {hyper.ShapeString}, {masks.ShapeString}");
        int b = keys.Dim(0), c = keys.Dim(2), c1 = conv1Weight.Dim(1), c2 = conv2Weight.Dim(1), m = hyper.Dim(1);
        if (masks.Dim(2) % 4 != 0 || masks.Dim(3) % 4 != 0)
            throw new ArgumentException($"output_upscaling: masks {masks.ShapeString} are not 4× a token grid");
        var s = new OutputUpscalingShape(b, masks.Dim(2) / 4, masks.Dim(3) / 4, c, c1, c2, m);
        if (keys.Dim(1) != s.H * s.W)
            throw new ArgumentException($"output_upscaling: keys {keys.ShapeString} do not hold the {s.H}×{s.W} grid of masks {masks.ShapeString}");
        if (!conv1Weight.Shape.SequenceEqual([c, c1, 2, 2]) || !conv2Weight.Shape.SequenceEqual([c1, c2, 2, 2]))
            throw new ArgumentException($"output_upscaling: conv weights {conv1Weight.ShapeString}, {conv2Weight.ShapeString} are not [{c}, C1, 2, 2], [C1, C2, 2, 2]");
        if (conv1Bias.Length != c1 || normWeight.Length != c1 || normBias.Length != c1 || conv2Bias.Length != c2)
            throw new ArgumentException($"output_upscaling: bias and norm parameters {conv1Bias.ShapeString}, {normWeight.ShapeString}, {normBias.ShapeString}, {conv2Bias.ShapeString} are not [{c1}], [{c1}], [{c1}], [{c2}]");
        if (!hyper.Shape.SequenceEqual([b, m, c2]) || !masks.Shape.SequenceEqual([b, m, 4 * s.H, 4 * s.W]))
            throw new ArgumentException($"output_upscaling: hyper {hyper.ShapeString} and masks {masks.ShapeString} are not [{b}, M, {c2}] and [{b}, M, 4h, 4w]");
        if (masks.Length > int.MaxValue || keys.Length > int.MaxValue)
            throw new ArgumentException($"output_upscaling: masks {masks.ShapeString} are too large");
        return s;
    }
}

internal sealed class OutputUpscalingChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // A partial pixel tile, odd channel counts (padded weight rows), several tiles and
        // prompts, and SAM's own channels (256 → 64 → 32, 3 masks) on an odd grid.
        var shapes = new OutputUpscalingShape[]
        {
            new(1, 5, 7, 32, 8, 4, 3), new(3, 5, 7, 20, 5, 3, 1), new(1, 16, 16, 64, 16, 8, 3), new(3, 3, 17, 24, 12, 6, 2),
            new(2, 9, 11, 256, 64, 32, 3),
        };
        foreach (var s in shapes)
            yield return new KernelCheck("output_upscaling", $"[{s.B}×{s.H * s.W}×{s.C}] → {s.C1} → {s.C2}, {s.M} masks of {4 * s.H}×{4 * s.W}", 1e-6,
                d => Run(d, s));
    }

    static Comparison Run(Device d, OutputUpscalingShape s)
    {
        // Weights scaled by 1/√fan-in keep both convolutions' outputs of order one, where GELU's two erf branches meet.
        var keys = CheckData.Uniform(71, (long)s.B * s.H * s.W * s.C);
        var w1 = Scaled(CheckData.Uniform(72, s.C * s.C1 * 4), 1 / MathF.Sqrt(s.C));
        var b1 = CheckData.Uniform(73, s.C1);
        var gamma = CheckData.Uniform(74, s.C1, 0.5f, 1.5f);
        var beta = CheckData.Uniform(75, s.C1);
        var w2 = Scaled(CheckData.Uniform(76, s.C1 * s.C2 * 4), 2 / MathF.Sqrt(s.C1));
        var b2 = CheckData.Uniform(77, s.C2);
        var hyper = CheckData.Uniform(78, s.B * s.M * s.C2);
        using var tk = CheckData.Upload(d, keys, s.B, s.H * s.W, s.C);
        using var tw1 = CheckData.Upload(d, w1, s.C, s.C1, 2, 2);
        using var tb1 = CheckData.Upload(d, b1, s.C1);
        using var tg = CheckData.Upload(d, gamma, s.C1);
        using var tbeta = CheckData.Upload(d, beta, s.C1);
        using var tw2 = CheckData.Upload(d, w2, s.C1, s.C2, 2, 2);
        using var tb2 = CheckData.Upload(d, b2, s.C2);
        using var th = CheckData.Upload(d, hyper, s.B, s.M, s.C2);
        using var masks = CheckData.Poisoned(d, s.B, s.M, 4 * s.H, 4 * s.W);
        OutputUpscaling.Forward(tk, tw1, tb1, tg, tbeta, 1e-6f, tw2, tb2, th, masks);
        var reference = OutputUpscaling.Reference(s, CheckData.Widen(keys), CheckData.Widen(w1), CheckData.Widen(b1), CheckData.Widen(gamma),
            CheckData.Widen(beta), 1e-6, CheckData.Widen(w2), CheckData.Widen(b2), CheckData.Widen(hyper));
        return Comparison.Of(reference, masks.Download());
    }

    static float[] Scaled(float[] x, float scale)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= scale;
        return x;
    }
}
