using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// PyTorch's nn.Linear on the GEMM: y = act(x · Wᵀ + b) + residual, with W stored [out, in]
/// as in the checkpoint and every leading axis of x folded into rows.
/// </summary>
public static class Linear
{
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Activation activation = Activation.None, Tensor? residual = null)
    {
        int inFeatures = weight.Dim(1), outFeatures = weight.Dim(0);
        if (x.Dim(-1) != inFeatures || y.Dim(-1) != outFeatures || x.Length / inFeatures != y.Length / outFeatures)
            throw new ArgumentException($"linear: {x.ShapeString} · {weight.ShapeString}ᵀ does not give {y.ShapeString}");
        int rows = checked((int)(x.Length / inFeatures));
        using var x2 = x.Reshape(rows, inFeatures);
        using var y2 = y.Reshape(rows, outFeatures);
        using var r2 = residual?.Reshape(rows, outFeatures);
        Gemm.Forward(x2, weight, y2, transB: true, bias: bias, activation: activation, residual: r2);
    }
}
