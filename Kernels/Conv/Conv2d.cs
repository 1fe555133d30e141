using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>PyTorch Conv2d on NCHW: x [B, Cin, H, W], weight [Cout, Cin, kh, kw], optional bias [Cout], square stride and zero padding → y [B, Cout, Ho, Wo].</summary>
public static class Conv2d
{
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y) => throw new NotImplementedException();
}
