using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// Multi-head self-attention over a grid of tokens with SAM's decomposed relative position
/// bias (the reference's Attention): qkv → per-head softmax(q·kᵀ/√d + rel_h + rel_w)·v → proj.
/// </summary>
public sealed class Attention(AttentionWeights w, int numHeads, long maxScoreElements = Attention.DefaultMaxScoreElements)
{
    /// <summary>
    /// Score elements held at once: four of ViT-H's 4096×4096 global-attention heads (256 MB).
    /// Further (window, head) pairs are processed in chunks through the same buffer.
    /// </summary>
    public const long DefaultMaxScoreElements = 4L * 4096 * 4096;

    /// <summary>x [B, H, W, C] → y [B, H, W, C] = proj(attention(x)) + residual (residual may be y).</summary>
    public void Forward(Tensor x, Tensor y, Tensor? residual = null)
    {
        var device = x.Device;
        int b = x.Dim(0), h = x.Dim(1), wd = x.Dim(2), c = x.Dim(3), n = h * wd, hd = c / numHeads;
        using var o = Tensor.Empty(device, b * numHeads, n, hd);
        using (var heads = SplitHeads(x))
            Attend(heads, o, h, wd);
        // [B, heads, N, hd] → [B, N, heads·hd]
        using var merged = Tensor.Empty(device, b, n, c);
        Permute.Forward(o.Reshape(b, numHeads, n, hd), [0, 2, 1, 3], merged);
        Linear.Forward(merged, w.Proj, w.ProjBias, y.Reshape(b, n, c), residual: residual?.Reshape(b, n, c));
    }

    /// <summary>x [B, H, W, C] → qkv(x) as [3, B·heads, N, hd]: q, k and v each contiguous per head.</summary>
    Tensor SplitHeads(Tensor x)
    {
        int b = x.Dim(0), n = x.Dim(1) * x.Dim(2), c = x.Dim(3), hd = c / numHeads;
        using var qkv = Tensor.Empty(x.Device, b, n, 3 * c);
        Linear.Forward(x, w.Qkv, w.QkvBias, qkv);
        var heads = Tensor.Empty(x.Device, 3, b * numHeads, n, hd);
        Permute.Forward(qkv.Reshape(b, n, 3, numHeads, hd), [2, 0, 3, 1, 4], heads.Reshape(3, b, numHeads, n, hd));
        return heads;
    }

    /// <summary>o = softmax(q·kᵀ/√d + rel_pos(q))·v for every (window, head) pair, a chunk of pairs at a time.</summary>
    void Attend(Tensor heads, Tensor o, int gridH, int gridW)
    {
        int bh = heads.Dim(1), n = heads.Dim(2), hd = heads.Dim(3);
        var q = heads.Slice(0, 1).Reshape(bh, n, hd);
        var k = heads.Slice(1, 1).Reshape(bh, n, hd);
        var v = heads.Slice(2, 1).Reshape(bh, n, hd);
        int chunk = (int)Math.Clamp(maxScoreElements / ((long)n * n), 1, bh);
        using var scores = Tensor.Empty(o.Device, chunk, n, n);
        float scale = 1f / MathF.Sqrt(hd);
        for (int start = 0; start < bh; start += chunk)
        {
            int count = Math.Min(chunk, bh - start);
            var s = scores.Slice(0, count);
            var qi = q.Slice(start, count);
            Gemm.Forward(qi, k.Slice(start, count), s, transB: true, alpha: scale);
            // The bias uses the unscaled q, as the reference's add_decomposed_rel_pos.
            RelativePosition.AddDecomposed(s, qi, w.RelPosH, w.RelPosW, gridH, gridW, gridH, gridW);
            Softmax.Forward(s, s);
            Gemm.Forward(s, v.Slice(start, count), o.Slice(start, count));
        }
    }
}
