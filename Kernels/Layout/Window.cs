using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>SAM's window_partition / window_unpartition: [B, H, W, C] ⇄ [B·nH·nW, win, win, C], zero-padding H, W up to multiples of win (64 → 70 for win 14) and cropping back.</summary>
public static class Window
{
    public static void Partition(Tensor x, int window, Tensor windows) => throw new NotImplementedException();

    public static void Unpartition(Tensor windows, int window, Tensor x) => throw new NotImplementedException();
}
