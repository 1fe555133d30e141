using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>y = (x − mean) / sqrt(var + eps) · gamma + beta over the last axis (biased variance, as PyTorch).</summary>
public static class LayerNorm
{
    public static void Forward(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor y) => throw new NotImplementedException();
}
