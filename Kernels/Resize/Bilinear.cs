using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>F.interpolate(mode="bilinear", align_corners=False, antialias=False) on [B, C, H, W] → [B, C, Ho, Wo].</summary>
public static class Bilinear
{
    public static void Forward(Tensor x, Tensor y) => throw new NotImplementedException();
}
