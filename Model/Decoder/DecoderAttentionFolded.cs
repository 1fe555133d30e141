using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// The cross attentions of the two-way transformer in folded form. One side is the HW image tokens
/// (4096 of C = 256 channels), the other T prompt tokens (about 7). The reference projects the
/// image side to the internal dim I (128), HW×C×I multiply-adds per projection, and attends there.
/// But per head h the image meets the tokens only through dot products with a few vectors, and a
/// linear map can move across a dot product: (W x + b)·u = x·(Wᵀu) + b·u. So the head's weights are
/// applied to the T tokens instead (h·T×d×C, negligible), and the image side enters only as products
/// with h·T folded vectors of C: HW×C×h·T multiply-adds, 56 columns instead of 128 at T = 7. This is
/// exact algebra; only the rounding differs from the reference's order. Which form runs is decided
/// per call by flop count, so that many tokens (h·T past I) keep the reference's form.
/// <para>
/// Scores are kept keys-major, [B, h·T, HW] ([B, h, T, HW]), in both directions: the image-side
/// products are then the same long, thin GEMMs, and the image→token softmax over T runs down the
/// columns (<see cref="ColumnSoftmax"/>) instead of over millions of rows of T. The image-side
/// passes of both directions are ops of their own (<see cref="TokenToImageAttention"/>, and
/// <see cref="ImageToTokenAttention"/> with the block's LayerNorm): the native path streams the
/// image through them once, in tiles; ILGPU devices compose them from GEMM, softmax and LayerNorm.
/// </para>
/// </summary>
internal sealed partial class DecoderAttention
{
    /// <summary>
    /// Token→image attention (tokens query the image): q [B, T, C] tokens (+ PE), keys image + pe
    /// and values image, image [Bk, HW, C] (Bk = B or 1), pe [HW, C]. y and residual [B, T, C].
    /// </summary>
    public void TokenToImage(Tensor q, Tensor image, Tensor pe, Tensor y, Tensor? residual = null)
    {
        int b = q.Dim(0), t = q.Dim(1), bk = image.Dim(0), hw = image.Dim(1);
        if ((bk != b && bk != 1) || y.Dim(0) != b || y.Dim(1) != t || pe.Length != (long)hw * EmbeddingDim)
            throw new ArgumentException($"token→image attention: q {q.ShapeString}, image {image.ShapeString}, pe {pe.ShapeString} → {y.ShapeString} do not batch");
        // Per image token: the reference projects k and v (2·C·I, once per image) and attends
        // (2·T·I per prompt); folded, scores and weighted sum are 2·h·T·C per prompt.
        double plain = 2.0 * bk * EmbeddingDim * InternalDim + 2.0 * b * t * InternalDim;
        double folded = 2.0 * b * NumHeads * t * EmbeddingDim;
        if (folded < plain)
        {
            FoldedTokenToImage(q, image, pe, y, residual);
            return;
        }
        using var k = Tensor.Empty(image.Device, image.Shape);
        Add.Forward(image, pe, k);
        Forward(q, k, image, y, residual);
    }

    /// <summary>
    /// Token→image attention against an image projected beforehand (the first block's, kept per
    /// image): kh = k_proj(image + PE) and vh = v_proj(image) as heads [h, 1, HW, d]. Only the
    /// tokens are projected; the attention is the reference's.
    /// </summary>
    public void TokenToProjectedImage(Tensor q, Tensor kh, Tensor vh, Tensor y, Tensor? residual = null)
    {
        using var qh = Project(qProj, q);
        Attend(qh, kh, vh, y, residual);
    }

    /// <summary>
    /// Image→token attention (the image queries the tokens) with the image as residual and the
    /// LayerNorm after it: y = norm(image + attention(image + pe, k, v)). image [Bi, HW, C] (Bi = B
    /// or 1), pe [HW, C], k [B, T, C] tokens + PE, v [B, T, C] tokens, y [B, HW, C].
    /// </summary>
    internal void ImageToToken(Tensor image, Tensor pe, Tensor k, Tensor v, PromptDecoderWeights.NormParams norm, float eps, Tensor y)
    {
        int bi = image.Dim(0), hw = image.Dim(1), b = k.Dim(0), t = k.Dim(1), h = NumHeads;
        if (v.Dim(0) != b || v.Dim(1) != t || (bi != b && bi != 1) || y.Dim(0) != b || y.Dim(1) != hw || pe.Length != (long)hw * EmbeddingDim)
            throw new ArgumentException($"image→token attention: image {image.ShapeString}, pe {pe.ShapeString}, k {k.ShapeString}, v {v.ShapeString} → {y.ShapeString} do not batch");
        // Per image token: the reference projects q (C·I, once per image), attends (2·T·I) and
        // projects out (I·C) per prompt; folded, scores and output are 2·h·T·C per prompt, the
        // output folded too while h·T·C is below T·I + I·C (see WeighTokens).
        double plain = (double)bi * EmbeddingDim * InternalDim + b * (2.0 * t * InternalDim + InternalDim * EmbeddingDim);
        double folded = 2.0 * b * h * t * EmbeddingDim;
        if (folded < plain && FoldsOutput(t))
        {
            using var kh = Project(kProj, k);
            using var kFolded = FoldThrough(kh, qProj.Weight);
            using var kBias = FoldThrough(kh, qProj.Bias.Reshape(InternalDim, 1), alpha: Scale);
            using var vh = Project(vProj, v);
            using var u = FoldThrough(vh, outProjWeightT);
            ImageToTokenAttention.Forward(kFolded, kBias.Reshape(b, h * t), t, image, pe, Scale, u, outProj.Bias, image, norm.Weight, norm.Bias, eps, y);
            return;
        }
        using var q = Tensor.Empty(image.Device, image.Shape);
        Add.Forward(image, pe, q);
        using var sum = Tensor.Empty(image.Device, y.Shape);
        if (folded < plain)
        {
            using var p = FoldedImageToTokenProbabilities(q, k);
            WeighTokens(p, v, sum, image);
        }
        else Forward(q, k, v, sum, image);
        norm.Forward(sum, y, eps);
    }

    /// <summary>
    /// Whether the image→token output goes through out_proj on the tokens' side:
    /// out_proj(concat_h Σ_t P_h[t, j] v_h[t]) = Σ_h Σ_t P_h[t, j] (W_o,h v_h[t]) + b_o, W_o,h the
    /// columns of out_proj for head h, so the values go through out_proj first (h·T rows of C) and
    /// the image side is one product with them (2·h·T·C per image token). The reference's order
    /// costs 2·T·I + 2·I·C, less once h·T passes I.
    /// </summary>
    bool FoldsOutput(int t) => (double)NumHeads * t * EmbeddingDim <= (double)t * InternalDim + (double)InternalDim * EmbeddingDim;

    /// <summary>
    /// Image→token attention from image queries projected beforehand (the first block's, kept per
    /// image), with the image as residual and the LayerNorm after it: queries = q_proj(image + PE)
    /// [1, HW, I], image [1, HW, C], k and v [B, T, C] tokens (+ PE), y [B, HW, C].
    /// </summary>
    internal void ProjectedImageToToken(Tensor queries, Tensor image, Tensor k, Tensor v, PromptDecoderWeights.NormParams norm, float eps, Tensor y)
    {
        var device = y.Device;
        int b = k.Dim(0), t = k.Dim(1), hw = queries.Dim(1), h = NumHeads;
        using var kh = Project(kProj, k);
        using var vh = Project(vProj, v);
        if (FoldsOutput(t))
        {
            // Head h's scores are its d query channels against its keys: the keys spread over all
            // I channels, zero outside their head's block, make every head one product with the
            // queries ([h·T, I] per prompt, the identity's blocks as the fold).
            using var spread = FoldThrough(kh, identity);
            using var u = FoldThrough(vh, outProjWeightT);
            ImageToTokenAttention.Forward(spread, null, t, queries, null, Scale, u, outProj.Bias, image, norm.Weight, norm.Bias, eps, y);
            return;
        }
        using var qh = Tensor.Empty(device, h, 1, hw, HeadDim);
        Permute.Forward(queries.Reshape(1, hw, h, HeadDim), [2, 0, 1, 3], qh);
        using var sum = Tensor.Empty(device, y.Shape);
        Attend(qh, kh, vh, sum, image);
        norm.Forward(sum, y, eps);
    }

    /// <summary>The identity [n, n]: read as h blocks [d, I], each head's channels in place.</summary>
    static Tensor MakeIdentity(Device device, int n)
    {
        var eye = new float[n * n];
        for (int i = 0; i < n; i++) eye[i * n + i] = 1f;
        return Tensor.FromArray(device, eye, n, n);
    }

    /// <summary>k_proj or v_proj of an image [1, HW, C], as heads [h, 1, HW, d].</summary>
    internal Tensor ProjectImageKeys(Tensor image) => Project(kProj, image);

    internal Tensor ProjectImageValues(Tensor image) => Project(vProj, image);

    /// <summary>q_proj of an image [1, HW, C]: [1, HW, I], token-major as the image→token tiles read it.</summary>
    internal Tensor ProjectImageQueries(Tensor image)
    {
        var q = Tensor.Empty(image.Device, 1, image.Dim(1), InternalDim);
        qProj.Forward(image, q);
        return q;
    }

    void FoldedTokenToImage(Tensor q, Tensor image, Tensor pe, Tensor y, Tensor? residual)
    {
        var device = y.Device;
        int b = q.Dim(0), t = q.Dim(1), h = NumHeads, d = HeadDim, c = EmbeddingDim;

        // Scores: q_h·(W_k,h x_j + b_k,h) = (W_k,hᵀ q_h)·x_j + q_h·b_k,h. The last term is the same
        // for every image token j, and softmax over j is blind to a constant: it is dropped.
        // Output: Σ_j P[t, j] (W_v,h x_j + b_v,h) = W_v,h (Σ_j P[t, j] x_j) + b_v,h, as each row of
        // P sums to 1: the probabilities weigh the image itself, and the head's value projection
        // applies to the h·T weighted sums.
        using var qh = Project(qProj, q);
        using var qFolded = FoldThrough(qh, kProj.Weight);
        using var weighted = Tensor.Empty(device, b, h * t, c);
        TokenToImageAttention.Forward(qFolded, image, pe, Scale, weighted);
        using var weightedByHead = Tensor.Empty(device, h, b * t, c);
        Permute.Forward(weighted.Reshape(b, h, t, c), [1, 0, 2, 3], weightedByHead.Reshape(h, b, t, c));
        using var oh = Tensor.Empty(device, h, b * t, d);
        Gemm.Forward(weightedByHead, vProj.Weight.Reshape(h, d, c), oh, transB: true);
        using var merged = Tensor.Empty(device, b, t, h, d);
        Permute.Forward(oh.Reshape(h, b, t, d), [1, 2, 0, 3], merged);
        Add.Forward(merged, vProj.Bias, merged);
        OutProj(merged.Reshape(b, t, InternalDim), y, residual);
    }

    /// <summary>
    /// softmax(q_proj(x)·k_proj(k)ᵀ/√d) over the tokens, keys-major: [B, h·T, HW]. x [Bq, HW, C]
    /// is the image (+ PE), k [B, T, C] the tokens (+ PE).
    /// </summary>
    Tensor FoldedImageToTokenProbabilities(Tensor x, Tensor k)
    {
        int b = k.Dim(0), t = k.Dim(1), hw = x.Dim(1), h = NumHeads;
        // Scores: (W_q,h x_j + b_q,h)·k_h[t] = x_j·(W_q,hᵀ k_h[t]) + b_q,h·k_h[t]. Here the softmax
        // runs over t, along which the last term varies: it stays, as a bias per row of scores.
        using var kh = Project(kProj, k);
        using var kFolded = FoldThrough(kh, qProj.Weight);
        using var kBias = FoldThrough(kh, qProj.Bias.Reshape(InternalDim, 1), alpha: Scale);
        var p = Tensor.Empty(x.Device, b, h * t, hw);
        Gemm.Forward(kFolded, x, p, transB: true);
        ColumnSoftmax.Forward(p.Reshape(b * h, t, hw), p.Reshape(b * h, t, hw), Scale, kBias.Reshape(b * h, t));
        return p;
    }

    /// <summary>
    /// The image→token output in the reference's order, from the probabilities p [B, h·T, HW] and
    /// the tokens v [B, T, C]: y = out_proj(Σ_t P_h[t, j] v_proj(v)_h[t]) (+ residual), [B, HW, C]
    /// (residual [B or 1, HW, C]). Where <see cref="FoldsOutput"/> holds, ImageToTokenAttention
    /// does this step with the values through out_proj first.
    /// </summary>
    void WeighTokens(Tensor p, Tensor v, Tensor y, Tensor? residual)
    {
        var device = y.Device;
        int b = v.Dim(0), t = v.Dim(1), hw = p.Dim(2), h = NumHeads, d = HeadDim;
        using var vh = Project(vProj, v);
        using var vb = Tensor.Empty(device, b, h, t, d);
        Permute.Forward(vh, [1, 0, 2, 3], vb);
        using var o = Tensor.Empty(device, b, h, hw, d);
        Gemm.Forward(p.Reshape(b * h, t, hw), vb.Reshape(b * h, t, d), o.Reshape(b * h, hw, d), transA: true);
        using var merged = Tensor.Empty(device, b, hw, h, d);
        Permute.Forward(o, [0, 2, 1, 3], merged);
        OutProj(merged.Reshape(b, hw, InternalDim), y, residual);
    }

    /// <summary>
    /// Each head's token vectors through that head's block of a weight: heads [h, B, T, d] and
    /// weight [I, N], read as h blocks [d, N], give the rows alpha·x_h[t]ᵀ W_h, prompt-major
    /// [B, h·T, N]: the folded vectors that meet the image side.
    /// </summary>
    Tensor FoldThrough(Tensor heads, Tensor weight, float alpha = 1f)
    {
        int h = NumHeads, b = heads.Dim(1), t = heads.Dim(2), n = weight.Dim(-1);
        using var byHead = Tensor.Empty(heads.Device, h, b * t, n);
        Gemm.Forward(heads.Reshape(h, b * t, HeadDim), weight.Reshape(h, HeadDim, n), byHead, alpha: alpha);
        var folded = Tensor.Empty(heads.Device, b, h * t, n);
        Permute.Forward(byHead.Reshape(h, b, t, n), [1, 0, 2, 3], folded.Reshape(b, h, t, n));
        return folded;
    }
}
