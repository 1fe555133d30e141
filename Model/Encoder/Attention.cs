using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// Multi-head self-attention over a grid of tokens with SAM's decomposed relative position
/// bias (the reference's Attention): qkv → per-head softmax(q·kᵀ/√d + rel_h + rel_w)·v → proj.
/// The attention itself is the fused kernel, which never holds a whole score matrix: global
/// attention over ViT-H's 4096 tokens costs no more memory than q, k and v themselves.
/// </summary>
internal sealed class Attention(AttentionWeights w, int numHeads)
{
    /// <summary>
    /// x [B, H, W, C] → y [B, H, W, C] = proj(attention(x)) + residual (residual may be y).
    /// With window &gt; 0 this is the reference's windowed path, window_partition → attn →
    /// window_unpartition, attending within window×window tiles of the zero-padded grid. qkv and
    /// proj act on each token alone, so they run on the H·W tokens rather than on the padded
    /// windows (64² tokens instead of 70² in SAM): the window split gives a padding token the
    /// qkv of zeros, the bias, and the merge drops the padding before proj.
    /// </summary>
    public void Forward(Tensor x, Tensor y, Tensor? residual = null, int window = 0)
    {
        var device = x.Device;
        int b = x.Dim(0), h = x.Dim(1), wd = x.Dim(2), c = x.Dim(3), hd = c / numHeads;
        // Attention runs per (window or image) and head, over the tokens of a g×g grid.
        int gh = window > 0 ? window : h, gw = window > 0 ? window : wd, n = gh * gw;
        int bh = (window > 0 ? b * ((h + window - 1) / window) * ((wd + window - 1) / window) : b) * numHeads;
        using var o = Tensor.Empty(device, bh, n, hd);
        using (var heads = Tensor.Empty(device, 3, bh, n, hd))
        {
            using (var qkv = Tensor.Empty(device, b, h, wd, 3 * c))
            {
                Linear.Forward(x, w.Qkv, w.QkvBias, qkv);
                if (window > 0) WindowHeads.Split(qkv, window, numHeads, w.QkvBias, heads);
                // [B, N, 3, heads, hd] → [3, B, heads, N, hd]: q, k and v each contiguous per head.
                else Permute.Forward(qkv.Reshape(b, n, 3, numHeads, hd), [2, 0, 3, 1, 4], heads.Reshape(3, b, numHeads, n, hd));
            }
            var q = heads.Slice(0, 1).Reshape(bh, n, hd);
            var k = heads.Slice(1, 1).Reshape(bh, n, hd);
            var v = heads.Slice(2, 1).Reshape(bh, n, hd);
            Kernels.Attention.Forward(q, k, v, 1f / MathF.Sqrt(hd), o, new RelPosBias(w.RelPosH, w.RelPosW, gh, gw, gh, gw));
        }
        using var merged = Tensor.Empty(device, b, h, wd, c);
        if (window > 0) WindowHeads.Merge(o, window, numHeads, merged);
        // [B, heads, N, hd] → [B, N, heads, hd] = [B, N, C]
        else Permute.Forward(o.Reshape(b, numHeads, n, hd), [0, 2, 1, 3], merged.Reshape(b, n, numHeads, hd));
        Linear.Forward(merged, w.Proj, w.ProjBias, y, residual: residual);
    }
}
