using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>The transformer MLP: lin2(GELU(lin1(x))), with GELU and the residual fused into the GEMMs.</summary>
internal sealed class MlpBlock(MlpWeights w)
{
    /// <summary>y = lin2(GELU(lin1(x))) + residual (residual may be y).</summary>
    public void Forward(Tensor x, Tensor y, Tensor? residual = null)
    {
        var hiddenShape = (int[])x.Shape.Clone();
        hiddenShape[^1] = w.Lin1.Dim(0);
        using var hidden = Tensor.Empty(x.Device, hiddenShape);
        Linear.Forward(x, w.Lin1, w.Lin1Bias, hidden, Activation.Gelu);
        Linear.Forward(hidden, w.Lin2, w.Lin2Bias, y, residual: residual);
    }
}
