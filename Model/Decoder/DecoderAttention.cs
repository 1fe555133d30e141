using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// transformer.py's Attention: project q, k, v to the internal dimension (the embedding dim, or
/// half of it for the cross attentions: downsample_rate 2), split into heads, softmax(q·kᵀ/√d)·v,
/// recombine, project back.
/// <para>
/// Batched over B prompts of one image, either side may be shared by every prompt (batch 1):
/// before the first image→token update the image tokens are the same for all prompts, so their
/// projections are computed once instead of B times (the reference repeats the image embedding
/// per prompt). Heads are kept outermost, [h, B, N, d], so that shared keys make one GEMM per head
/// over the queries of all prompts.
/// </para>
/// </summary>
public sealed class DecoderAttention : IDisposable
{
    readonly PromptDecoderWeights.LinearParams qProj, kProj, vProj, outProj;

    internal DecoderAttention(PromptDecoderWeights w, int numHeads)
    {
        qProj = w.Linear("q_proj");
        kProj = w.Linear("k_proj");
        vProj = w.Linear("v_proj");
        outProj = w.Linear("out_proj");
        NumHeads = numHeads;
        InternalDim = qProj.Out;
        EmbeddingDim = qProj.In;
        if (InternalDim % numHeads != 0) throw new SamException($"attention of internal dim {InternalDim} does not split into {numHeads} heads");
        if (kProj.Out != InternalDim || vProj.Out != InternalDim || outProj.In != InternalDim || outProj.Out != EmbeddingDim)
            throw new SamException($"attention projections disagree: q {qProj.Weight.ShapeString}, k {kProj.Weight.ShapeString}, v {vProj.Weight.ShapeString}, out {outProj.Weight.ShapeString}");
    }

    public int NumHeads { get; }
    public int InternalDim { get; }
    public int EmbeddingDim { get; }
    int HeadDim => InternalDim / NumHeads;

    /// <summary>
    /// y = out_proj(attention(q, k, v)) (+ residual). q is [Bq, Nq, C], k and v [Bk, Nk, C], with
    /// Bq and Bk each B or 1; y and residual are [B, Nq, C]. residual may alias y.
    /// </summary>
    public void Forward(Tensor q, Tensor k, Tensor v, Tensor y, Tensor? residual = null)
    {
        int bq = q.Dim(0), nq = q.Dim(1), bk = k.Dim(0), nk = k.Dim(1), b = Math.Max(bq, bk);
        if ((bq != b && bq != 1) || (bk != b && bk != 1) || v.Dim(0) != bk || v.Dim(1) != nk || y.Dim(0) != b || y.Dim(1) != nq)
            throw new ArgumentException($"attention: q {q.ShapeString}, k {k.ShapeString}, v {v.ShapeString} → {y.ShapeString} do not batch");
        var device = y.Device;
        int h = NumHeads, d = HeadDim;

        using var qh = Project(qProj, q);
        using var kh = Project(kProj, k);
        using var vh = Project(vProj, v);
        using var o = Tensor.Empty(device, h, b, nq, d);
        float scale = 1f / MathF.Sqrt(d);
        if (bq == bk)
        {
            using var s = Tensor.Empty(device, h * b, nq, nk);
            Gemm.Forward(qh.Reshape(h * b, nq, d), kh.Reshape(h * b, nk, d), s, transB: true);
            Softmax.Forward(s, s, scale);
            Gemm.Forward(s, vh.Reshape(h * b, nk, d), o.Reshape(h * b, nq, d));
        }
        else if (bk == 1)
        {
            // Shared keys: per head, the queries of all B prompts are rows of one product.
            using var s = Tensor.Empty(device, h, b * nq, nk);
            Gemm.Forward(qh.Reshape(h, b * nq, d), kh.Reshape(h, nk, d), s, transB: true);
            Softmax.Forward(s, s, scale);
            Gemm.Forward(s, vh.Reshape(h, nk, d), o.Reshape(h, b * nq, d));
        }
        else
        {
            // Shared queries: per head, one product against the keys of all prompts, then a
            // softmax within each prompt's keys and the value product per prompt.
            using var s = Tensor.Empty(device, h, nq, b * nk);
            Gemm.Forward(qh.Reshape(h, nq, d), kh.Reshape(h, b * nk, d), s, transB: true);
            Softmax.Forward(s.Reshape(h * nq * b, nk), s.Reshape(h * nq * b, nk), scale);
            using var perPrompt = Tensor.Empty(device, h, b, nq, nk);
            Permute.Forward(s.Reshape(h, nq, b, nk), [0, 2, 1, 3], perPrompt);
            Gemm.Forward(perPrompt.Reshape(h * b, nq, nk), vh.Reshape(h * b, nk, d), o.Reshape(h * b, nq, d));
        }

        using var merged = Tensor.Empty(device, b, nq, h, d);
        Permute.Forward(o, [1, 2, 0, 3], merged);
        outProj.Forward(merged.Reshape(b, nq, InternalDim), y, residual: residual);
    }

    /// <summary>Projects [B, N, C] to the internal dim and separates heads: [h, B, N, d].</summary>
    Tensor Project(PromptDecoderWeights.LinearParams proj, Tensor x)
    {
        int b = x.Dim(0), n = x.Dim(1);
        using var p = Tensor.Empty(x.Device, b, n, InternalDim);
        proj.Forward(x, p);
        var heads = Tensor.Empty(x.Device, NumHeads, b, n, HeadDim);
        Permute.Forward(p.Reshape(b, n, NumHeads, HeadDim), [2, 0, 1, 3], heads);
        return heads;
    }

    public void Dispose()
    {
        qProj.Dispose();
        kProj.Dispose();
        vProj.Dispose();
        outProj.Dispose();
    }
}
