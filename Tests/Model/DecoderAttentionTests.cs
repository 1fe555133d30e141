using SamEngine.Engine;
using SamEngine.Kernels.Check;
using SamEngine.Model;
using Xunit.Abstractions;

namespace SamEngine.Tests.Model;

/// <summary>
/// The cross attentions' folded forms (and those on image projections made beforehand) against a
/// float64 transformer.py Attention, on sam-mini's decoder weights (ViT-B's decoder shapes: C 256,
/// internal 128, 8 heads), beside the reference form they replace; the folded form must also do
/// fewer GEMM flops, or it did not run.
/// </summary>
public class DecoderAttentionTests(ITestOutputHelper output)
{
    const int Heads = 8;
    const int ImageTokens = 300;

    public static TheoryData<string> DeviceNames => ["cpu", "ilgpu-cpu"];

    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void TokenToImageFolds(string device)
    {
        const string scope = "layers.1.cross_attn_token_to_image";
        using var attention = Attention(device, scope);
        var (q, image, pe) = (Values(1, 2, 7), Values(2, 2, ImageTokens), Pe(3));
        var k = Keys(image, pe);
        var plain = Run(device, [2, 7], (d, t) => attention.Forward(t[0], t[1], t[2], t[3], t[4]), q, k, image);
        var folded = Run(device, [2, 7], (d, t) => attention.TokenToImage(t[0], t[1], t[2], t[3], t[4]), q, image, pe);
        Check(scope, q, k, image, plain);
        Check(scope, q, k, image, folded);
        Assert.True(folded.Flops < plain.Flops / 2, $"folded {folded.Flops:0} against {plain.Flops:0} product flops");
    }

    /// <summary>Many tokens: the reference's form is the cheaper and runs as is.</summary>
    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void TokenToImageKeepsTheReferenceFormForManyTokens(string device)
    {
        using var attention = Attention(device, "final_attn_token_to_image");
        var (q, image, pe) = (Values(4, 1, 40), Values(5, 1, ImageTokens), Pe(6));
        var plain = Run(device, [1, 40], (d, t) => attention.Forward(t[0], t[1], t[2], t[3], t[4]), q, Keys(image, pe), image);
        var chosen = Run(device, [1, 40], (d, t) => attention.TokenToImage(t[0], t[1], t[2], t[3], t[4]), q, image, pe);
        Assert.Equal(plain.Y, chosen.Y);
    }

    /// <summary>
    /// y = norm4(image + attention(image + pe, k, v)): the folded, fused form against the reference
    /// form, both against float64.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void ImageToTokenFolds(string device)
    {
        const string scope = "layers.1.cross_attn_image_to_token";
        using var attention = Attention(device, scope);
        using var norm = new PromptDecoderWeights(DecoderFixtures.Weights, Devices.Open(device), "mask_decoder.transformer.layers.1.").Norm("norm4");
        var (image, pe, k, v) = (Values(7, 2, ImageTokens), Pe(8), Values(9, 2, 7), Values(10, 2, 7));
        var plain = Run(device, [2, ImageTokens], (d, t) =>
        {
            using var sum = Tensor.Empty(d, t[4].Shape);
            attention.Forward(t[0], t[1], t[2], sum, t[3]);
            norm.Forward(sum, t[4], 1e-5f);
        }, Keys(image, pe), k, v, image);
        var folded = Run(device, [2, ImageTokens], (d, t) => attention.ImageToToken(t[0], t[1], t[2], t[3], norm, 1e-5f, t[4]), image, pe, k, v);
        Check(scope, Keys(image, pe), k, v, plain, image.Data, "layers.1.norm4");
        Check(scope, Keys(image, pe), k, v, folded, image.Data, "layers.1.norm4");
        Assert.True(folded.Flops < plain.Flops / 2, $"folded {folded.Flops:0} against {plain.Flops:0} product flops");
    }

    /// <summary>
    /// The first block's image side projected once (one image for every prompt): both directions
    /// match the reference form on the unprojected image (image→token with the image as residual
    /// and norm4 after it), for few tokens (folded output) and many (the reference's output).
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(DeviceNames))]
    public void ProjectedImageMatchesTheReferenceForm(string device)
    {
        const string toImageScope = "layers.0.cross_attn_token_to_image", toTokenScope = "layers.0.cross_attn_image_to_token";
        using var tokenToImage = Attention(device, toImageScope);
        using var imageToToken = Attention(device, toTokenScope);
        using var norm = new PromptDecoderWeights(DecoderFixtures.Weights, Devices.Open(device), "mask_decoder.transformer.layers.0.").Norm("norm4");
        foreach (int tokens in new[] { 7, 40 })
        {
            var (image, q, v) = (Values(10, 1, ImageTokens), Values(11, 3, tokens), Values(12, 3, tokens));
            var toImage = Run(device, [3, tokens], (d, t) =>
            {
                using var kh = tokenToImage.ProjectImageKeys(t[1]);
                using var vh = tokenToImage.ProjectImageValues(t[2]);
                tokenToImage.TokenToProjectedImage(t[0], kh, vh, t[3], t[4]);
            }, q, image, image);
            Check(toImageScope, q, image, image, toImage);
            var toToken = Run(device, [3, ImageTokens], (d, t) =>
            {
                using var queries = imageToToken.ProjectImageQueries(t[0]);
                imageToToken.ProjectedImageToToken(queries, t[0], t[1], t[2], norm, 1e-5f, t[3]);
            }, image, q, v);
            Check(toTokenScope, image, q, v, toToken, image.Data, "layers.0.norm4");
        }
    }

    static DecoderAttention Attention(string device, string scope) =>
        new(new PromptDecoderWeights(DecoderFixtures.Weights, Devices.Open(device), $"mask_decoder.transformer.{scope}."), Heads);

    /// <summary>[batch, n, 256] seeded values in [−1, 1], with the shape.</summary>
    static (float[] Data, int[] Shape) Values(int seed, int batch, int n) => (CheckData.Uniform(seed, batch * n * 256), [batch, n, 256]);

    /// <summary>A positional encoding of the image tokens, [HW, 256].</summary>
    static (float[] Data, int[] Shape) Pe(int seed) => (CheckData.Uniform(seed, ImageTokens * 256), [ImageTokens, 256]);

    /// <summary>image + pe, rounded to float32 as the engine adds them.</summary>
    static (float[] Data, int[] Shape) Keys((float[] Data, int[] Shape) image, (float[] Data, int[] Shape) pe)
    {
        var k = new float[image.Data.Length];
        for (int i = 0; i < k.Length; i++) k[i] = image.Data[i] + pe.Data[i % pe.Data.Length];
        return (k, image.Shape);
    }

    // The products of an attention: GEMMs, or the fused cross attentions that do them.
    static readonly string[] ProductKernels = ["gemm", "token_to_image", "image_to_token"];

    sealed record Result(float[] Y, int[] Shape, float[] Residual, double Flops);

    /// <summary>
    /// Runs one attention call, profiled, on the uploaded inputs followed by an output and a
    /// residual (t[n] and t[n + 1] for n inputs).
    /// </summary>
    static Result Run(string deviceName, int[] outShape, Action<Device, Tensor[]> call, params (float[] Data, int[] Shape)[] inputs)
    {
        var device = Devices.Open(deviceName);
        var residual = CheckData.Uniform(99, Tensor.Count([.. outShape, 256]));
        var tensors = inputs.Select(i => Tensor.FromArray(device, i.Data, i.Shape)).ToList();
        tensors.Add(Tensor.Empty(device, [.. outShape, 256]));
        tensors.Add(Tensor.FromArray(device, residual, [.. outShape, 256]));
        try
        {
            Profiler.Start();
            try { call(device, [.. tensors]); }
            finally { Profiler.Stop(); }
            double flops = Profiler.Records.Where(r => ProductKernels.Contains(r.Kernel)).Sum(r => r.Flops);
            Profiler.Reset();
            return new Result(tensors[inputs.Length].Download(), [.. outShape, 256], residual, flops);
        }
        finally
        {
            foreach (var t in tensors) t.Dispose();
        }
    }

    /// <summary>
    /// y against transformer.py's Attention in float64 plus the residual (the run's own, or the one
    /// given), then the named LayerNorm if any, within a few fp32 roundings of its scale.
    /// </summary>
    void Check(string scope, (float[] Data, int[] Shape) q, (float[] Data, int[] Shape) k, (float[] Data, int[] Shape) v, Result got,
        float[]? residual = null, string? norm = null)
    {
        var expected = ReferenceAttention(scope, q, k, v, got.Shape[0]);
        residual ??= got.Residual;
        for (int i = 0; i < expected.Length; i++) expected[i] += residual[i % residual.Length];
        if (norm != null)
        {
            var w = DecoderFixtures.Weights.Tensors;
            expected = SamEngine.Kernels.LayerNorm.Reference(expected, CheckData.Widen(w[$"mask_decoder.transformer.{norm}.weight"].ToFloat32()),
                CheckData.Widen(w[$"mask_decoder.transformer.{norm}.bias"].ToFloat32()), 1e-5);
        }
        var c = Comparison.Of(expected, got.Y);
        output.WriteLine($"{scope} {Tensor.ShapeText(got.Shape)}: max abs {c.MaxAbsErr:0.00e+0} of max |ref| {c.RefMaxAbs:0.00e+0}, rel-L2 {c.RelL2:0.00e+0}; {got.Flops / 1e6:0.0} MFLOP of products");
        Assert.True(c.NonFinite == 0 && c.RelErr <= 2e-6, $"{scope}: max abs {c.MaxAbsErr:0.00e+0} of max |ref| {c.RefMaxAbs:0.00e+0}");
    }

    /// <summary>transformer.py's Attention.forward in float64; a q, k or v of batch 1 serves every batch item.</summary>
    static double[] ReferenceAttention(string scope, (float[] Data, int[] Shape) q, (float[] Data, int[] Shape) k, (float[] Data, int[] Shape) v, int batch)
    {
        var w = DecoderFixtures.Weights.Tensors;
        double[] P(string name) => CheckData.Widen(w[$"mask_decoder.transformer.{scope}.{name}"].ToFloat32());
        int c = 256, nq = q.Shape[1], nk = k.Shape[1];
        double[] Linear(double[] x, int rows, string name)
        {
            double[] weight = P(name + ".weight"), bias = P(name + ".bias");
            int inF = weight.Length / bias.Length, outF = bias.Length;
            var y = new double[rows * outF];
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < outF; o++)
                {
                    double s = bias[o];
                    for (int i = 0; i < inF; i++) s += weight[o * inF + i] * x[r * inF + i];
                    y[r * outF + o] = s;
                }
            return y;
        }
        double[] Item((float[] Data, int[] Shape) x, int b)
        {
            int n = x.Shape[1] * c, item = x.Shape[0] == 1 ? 0 : b;
            return CheckData.Widen(x.Data.AsSpan(item * n, n));
        }
        var result = new List<double>();
        for (int b = 0; b < batch; b++)
        {
            double[] qp = Linear(Item(q, b), nq, "q_proj"), kp = Linear(Item(k, b), nk, "k_proj"), vp = Linear(Item(v, b), nk, "v_proj");
            int inner = qp.Length / nq, d = inner / Heads;
            var merged = new double[nq * inner];
            var p = new double[nk];
            for (int h = 0; h < Heads; h++)
                for (int i = 0; i < nq; i++)
                {
                    double max = double.NegativeInfinity, sum = 0;
                    for (int j = 0; j < nk; j++)
                    {
                        double s = 0;
                        for (int e = 0; e < d; e++) s += qp[i * inner + h * d + e] * kp[j * inner + h * d + e];
                        p[j] = s / Math.Sqrt(d);
                        max = Math.Max(max, p[j]);
                    }
                    for (int j = 0; j < nk; j++) sum += p[j] = Math.Exp(p[j] - max);
                    for (int j = 0; j < nk; j++)
                        for (int e = 0; e < d; e++) merged[i * inner + h * d + e] += p[j] / sum * vp[j * inner + h * d + e];
                }
            result.AddRange(Linear(merged, nq, "out_proj"));
        }
        return [.. result];
    }
}
