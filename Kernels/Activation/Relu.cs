using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>y = max(x, 0). y may alias x.</summary>
public static class Relu
{
    public static void Forward(Tensor x, Tensor y) => throw new NotImplementedException();
}
