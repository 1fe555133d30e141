using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>y = softmax(scale · x + bias) over the last axis; bias (optional) is x's shape or a trailing block repeated over leading axes. y may alias x.</summary>
public static class Softmax
{
    public static void Forward(Tensor x, Tensor y, float scale = 1f, Tensor? bias = null) => throw new NotImplementedException();
}
