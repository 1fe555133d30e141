using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>PyTorch ConvTranspose2d with kernel == stride (SAM's 2×2 stride 2 upscaling): x [B, Cin, H, W], weight [Cin, Cout, k, k], optional bias → y [B, Cout, k·H, k·W].</summary>
public static class ConvTranspose2d
{
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y) => throw new NotImplementedException();
}
