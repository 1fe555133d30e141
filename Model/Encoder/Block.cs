using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// One ViT block: x + attn(norm1(x)), then x + mlp(norm2(x)). A windowed block (window &gt; 0)
/// attends within window×window tiles of the zero-padded grid, a global block over all of it.
/// </summary>
internal sealed class Block(BlockWeights w, int numHeads, int window, float eps)
{
    readonly Attention attn = new(w.Attn, numHeads);
    readonly MlpBlock mlp = new(w.Mlp);

    /// <summary>x [B, H, W, C], updated in place.</summary>
    public void Forward(Tensor x)
    {
        var device = x.Device;
        using var normed = Tensor.Empty(device, x.Shape);
        LayerNorm.Forward(x, w.Norm1Weight, w.Norm1Bias, eps, normed);
        attn.Forward(normed, x, residual: x, window);
        LayerNorm.Forward(x, w.Norm2Weight, w.Norm2Bias, eps, normed);
        mlp.Forward(normed, x, residual: x);
    }
}
