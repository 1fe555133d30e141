using System.Runtime.CompilerServices;
using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// PyTorch's nn.Linear on the GEMM: y = act(x · Wᵀ + b) + residual, with W stored [out, in]
/// as in the checkpoint and every leading axis of x folded into rows.
/// </summary>
internal static class Linear
{
    // Native packed copies of weights declared constant, dropped with their tensors.
    static readonly ConditionalWeakTable<Tensor, GemmCpu.PackedB> Packed = new();

    /// <summary>
    /// constantWeight: W never changes while the tensor lives, so the native path may keep it
    /// packed. The mask decoder's layers multiply a few token rows by each weight: packing W
    /// (K·N moves) cost as much as the product (2·rows·K·N flops, rows ≈ 7) on every call.
    /// </summary>
    public static void Forward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Activation activation = Activation.None, Tensor? residual = null,
        bool constantWeight = false)
    {
        int inFeatures = weight.Dim(1), outFeatures = weight.Dim(0);
        if (x.Dim(-1) != inFeatures || y.Dim(-1) != outFeatures || x.Length / inFeatures != y.Length / outFeatures)
            throw new ArgumentException($"linear: {x.ShapeString} · {weight.ShapeString}ᵀ does not give {y.ShapeString}");
        int rows = checked((int)(x.Length / inFeatures));
        if (constantWeight && !y.Device.IsIlgpu && rows > 0 && inFeatures > 0 && (bias == null || bias.Length == outFeatures)
            && (residual == null || residual.Length == y.Length) && Prepacked(x, weight, bias, y, activation, residual, rows))
            return;
        using var x2 = x.Reshape(rows, inFeatures);
        using var y2 = y.Reshape(rows, outFeatures);
        using var r2 = residual?.Reshape(rows, outFeatures);
        Gemm.Forward(x2, weight, y2, transB: true, bias: bias, activation: activation, residual: r2);
    }

    /// <summary>The product against W's cached packing; false (nothing done) when a residual overlaps y.</summary>
    static bool Prepacked(Tensor x, Tensor weight, Tensor? bias, Tensor y, Activation activation, Tensor? residual, int rows)
    {
        int k = weight.Dim(1), n = weight.Dim(0);
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        var (ra, ro) = residual != null ? residual.HostArray : (null, 0);
        var ys = ya.AsSpan(yo, (int)y.Length);
        var rs = ra != null ? ra.AsSpan(ro, (int)y.Length) : default;
        if (!rs.IsEmpty && rs.Overlaps(ys)) return false;
        var packed = Packed.GetValue(weight, w =>
        {
            var (wa, wo) = w.HostArray;
            return GemmCpu.Pack(k, n, true, wa.AsSpan(wo, (int)w.Length));
        });
        var (ba, bo) = bias != null ? bias.HostArray : (null, 0);
        using var _ = Profiler.Launch(y.Device, "gemm", 2.0 * rows * n * k, 4.0 * (x.Length + weight.Length + y.Length + (residual?.Length ?? 0)));
        GemmCpu.RunPacked(rows, xa.AsSpan(xo, (int)x.Length), false, packed, ys, 1f, ba != null ? ba.AsSpan(bo, n) : default, activation, rs, mayFork: true);
        return true;
    }
}
