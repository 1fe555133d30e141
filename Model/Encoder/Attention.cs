using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// Multi-head self-attention over a grid of tokens with SAM's decomposed relative position
/// bias (the reference's Attention): qkv → per-head softmax(q·kᵀ/√d + rel_h + rel_w)·v → proj.
/// The attention itself is the fused kernel, which never holds a whole score matrix: global
/// attention over ViT-H's 4096 tokens costs no more memory than q, k and v themselves.
/// </summary>
public sealed class Attention(AttentionWeights w, int numHeads)
{
    /// <summary>x [B, H, W, C] → y [B, H, W, C] = proj(attention(x)) + residual (residual may be y).</summary>
    public void Forward(Tensor x, Tensor y, Tensor? residual = null)
    {
        var device = x.Device;
        int b = x.Dim(0), h = x.Dim(1), wd = x.Dim(2), c = x.Dim(3), n = h * wd, hd = c / numHeads, bh = b * numHeads;
        using var o = Tensor.Empty(device, bh, n, hd);
        using (var heads = SplitHeads(x))
        {
            var q = heads.Slice(0, 1).Reshape(bh, n, hd);
            var k = heads.Slice(1, 1).Reshape(bh, n, hd);
            var v = heads.Slice(2, 1).Reshape(bh, n, hd);
            Kernels.Attention.Forward(q, k, v, 1f / MathF.Sqrt(hd), o, new RelPosBias(w.RelPosH, w.RelPosW, h, wd, h, wd));
        }
        // [B, heads, N, hd] → [B, N, heads, hd] = [B, N, C]
        using var merged = Tensor.Empty(device, b, n, c);
        Permute.Forward(o.Reshape(b, numHeads, n, hd), [0, 2, 1, 3], merged.Reshape(b, n, numHeads, hd));
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
}
