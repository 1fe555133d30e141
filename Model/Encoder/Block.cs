using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// One ViT block: x + attn(norm1(x)), then x + mlp(norm2(x)). A windowed block (window &gt; 0)
/// attends within window×window tiles of the zero-padded grid, a global block over all of it.
/// </summary>
public sealed class Block(BlockWeights w, int numHeads, int window, float eps)
{
    readonly Attention attn = new(w.Attn, numHeads);
    readonly MlpBlock mlp = new(w.Mlp);

    /// <summary>x [B, H, W, C], updated in place.</summary>
    public void Forward(Tensor x)
    {
        var device = x.Device;
        using var normed = Tensor.Empty(device, x.Shape);
        LayerNorm.Forward(x, w.Norm1Weight, w.Norm1Bias, eps, normed);
        if (window > 0)
        {
            // Padding is applied after norm1, so padded tokens are zeros (keys with only the qkv bias),
            // as in the reference. The shortcut goes through the same partition so that the
            // residual add stays fused into the projection.
            int b = x.Dim(0), nh = (x.Dim(1) + window - 1) / window, nw = (x.Dim(2) + window - 1) / window;
            int[] windowsShape = [b * nh * nw, window, window, x.Dim(3)];
            using var windows = Tensor.Empty(device, windowsShape);
            using var shortcut = Tensor.Empty(device, windowsShape);
            Window.Partition(normed, window, windows);
            Window.Partition(x, window, shortcut);
            attn.Forward(windows, shortcut, residual: shortcut);
            Window.Unpartition(shortcut, window, x);
        }
        else attn.Forward(normed, x, residual: x);

        LayerNorm.Forward(x, w.Norm2Weight, w.Norm2Bias, eps, normed);
        mlp.Forward(normed, x, residual: x);
    }
}
