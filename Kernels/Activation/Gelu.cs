using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>Exact GELU: y = x · ½(1 + erf(x/√2)). y may alias x.</summary>
public static class Gelu
{
    public static void Forward(Tensor x, Tensor y) => throw new NotImplementedException();
}
