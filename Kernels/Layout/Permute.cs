using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>y = x.permute(axes) made contiguous (rank ≤ 6), as torch.permute(...).contiguous().</summary>
public static class Permute
{
    public static void Forward(Tensor x, int[] axes, Tensor y) => throw new NotImplementedException();
}
