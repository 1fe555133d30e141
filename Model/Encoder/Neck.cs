using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>The encoder's neck: 1×1 conv (no bias) → LayerNorm2d → 3×3 conv, padding 1 (no bias) → LayerNorm2d.</summary>
internal sealed class Neck(NeckWeights w, float eps)
{
    /// <summary>x [B, H, W, C] (channels last, as the blocks leave it) → y [B, out, H, W].</summary>
    public void Forward(Tensor x, Tensor y)
    {
        using var _ = Profiler.Stage("neck");
        var device = x.Device;
        int b = x.Dim(0), h = x.Dim(1), wd = x.Dim(2), c = x.Dim(3), o = w.Conv1.Dim(0);
        using var nchw = Tensor.Empty(device, b, c, h, wd);
        Permute.Forward(x, [0, 3, 1, 2], nchw);
        using var t1 = Tensor.Empty(device, b, o, h, wd);
        using var t2 = Tensor.Empty(device, b, o, h, wd);
        Conv2d.Forward(nchw, w.Conv1, null, 1, 0, t1);
        LayerNorm2d.Forward(t1, w.Norm1Weight, w.Norm1Bias, eps, t2);
        Conv2d.Forward(t2, w.Conv2, null, 1, 1, t1);
        LayerNorm2d.Forward(t1, w.Norm2Weight, w.Norm2Bias, eps, y);
    }
}
