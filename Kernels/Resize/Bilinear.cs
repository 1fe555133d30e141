using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>F.interpolate(mode="bilinear", align_corners=False, antialias=False) on [B, C, H, W] → [B, C, Ho, Wo].</summary>
public static class Bilinear
{
    public static void Forward(Tensor x, Tensor y)
    {
        if (x.Rank != 4 || y.Rank != 4 || x.Shape[0] != y.Shape[0] || x.Shape[1] != y.Shape[1])
            throw new ArgumentException($"bilinear: {x.ShapeString} → {y.ShapeString} is not [B, C, H, W] → [B, C, Ho, Wo]");
        if (y.Length > int.MaxValue) throw new ArgumentException($"bilinear: output {y.ShapeString} is too large");
        var s = new ResizeDims(x.Shape[0] * x.Shape[1], x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]);
        if (s.H == 0 || s.W == 0) throw new ArgumentException($"bilinear: empty input {x.ShapeString}");
        using var _ = Profiler.Launch(y.Device, "bilinear", 6.0 * y.Length, 4.0 * (x.Length + y.Length));
        if (y.Device.IsIlgpu)
        {
            var acc = y.Device.RequireAccelerator();
            var kernel = y.Device.Kernels.Get("bilinear", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ResizeDims>(BilinearKernel));
            kernel(checked((int)y.Length), x.View, y.View, s);
        }
        else
        {
            using var rows = Tensor.Empty(y.Device, s.Planes, s.H, s.Wo);
            Cpu(x.HostArray, rows.HostArray, y.HostArray, s);
        }
    }

    // Separable: each needed source row is resized along W once (rows are shared by ~Ho/H outputs
    // when upscaling), then output rows are a vectorised blend of two such rows.
    static void Cpu((float[] Array, int Offset) x, (float[] Array, int Offset) rows, (float[] Array, int Offset) y, ResizeDims s)
    {
        var across = LinearTaps.All(s.W, s.Wo);
        var down = LinearTaps.All(s.H, s.Ho);
        var needed = new bool[s.H];
        foreach (var t in down) needed[t.I0] = needed[t.I1] = true;
        Parallel.For(0, s.Planes * s.H, r =>
        {
            if (!needed[r % s.H]) return;
            var src = x.Array.AsSpan(x.Offset + r * s.W, s.W);
            var dst = rows.Array.AsSpan(rows.Offset + r * s.Wo, s.Wo);
            for (int o = 0; o < dst.Length; o++)
            {
                var t = across[o];
                dst[o] = t.W0 * src[t.I0] + t.W1 * src[t.I1];
            }
        });
        Parallel.For(0, s.Planes * s.Ho, r =>
        {
            int plane = r / s.Ho;
            var t = down[r % s.Ho];
            var dst = y.Array.AsSpan(y.Offset + r * s.Wo, s.Wo);
            TensorPrimitives.Multiply(rows.Array.AsSpan(rows.Offset + (plane * s.H + t.I0) * s.Wo, s.Wo), t.W0, dst);
            TensorPrimitives.MultiplyAdd(rows.Array.AsSpan(rows.Offset + (plane * s.H + t.I1) * s.Wo, s.Wo), t.W1, dst, dst);
        });
    }

    [SamKernel("bilinear")]
    static void BilinearKernel(Index1D i, ArrayView<float> x, ArrayView<float> y, ResizeDims s)
    {
        int ox = i % s.Wo, t = i / s.Wo;
        int oy = t % s.Ho, plane = t / s.Ho;
        var ty = LinearTaps.Of(s.H, s.Ho, oy);
        var tx = LinearTaps.Of(s.W, s.Wo, ox);
        int row0 = (plane * s.H + ty.I0) * s.W, row1 = (plane * s.H + ty.I1) * s.W;
        float top = tx.W0 * x[row0 + tx.I0] + tx.W1 * x[row0 + tx.I1];
        float bottom = tx.W0 * x[row1 + tx.I0] + tx.W1 * x[row1 + tx.I1];
        y[i] = ty.W0 * top + ty.W1 * bottom;
    }

    public static double[] Reference(double[] x, int planes, int h, int w, int ho, int wo)
    {
        var y = new double[planes * ho * wo];
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < ho; oy++)
            {
                var ty = LinearTaps.Exact(h, ho, oy);
                for (int ox = 0; ox < wo; ox++)
                {
                    var tx = LinearTaps.Exact(w, wo, ox);
                    double At(int yy, int xx) => x[(p * h + yy) * w + xx];
                    y[(p * ho + oy) * wo + ox] =
                        ty.W0 * (tx.W0 * At(ty.I0, tx.I0) + tx.W1 * At(ty.I0, tx.I1)) +
                        ty.W1 * (tx.W0 * At(ty.I1, tx.I0) + tx.W1 * At(ty.I1, tx.I1));
                }
            }
        return y;
    }
}

/// <summary>Planes (B·C) of H×W resized to Ho×Wo.</summary>
public readonly record struct ResizeDims(int Planes, int H, int W, int Ho, int Wo);

public sealed class BilinearChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        // SAM upscales 256 → 1024 (×4) and resizes 1024-ish crops to any original size, up or down.
        foreach (var (x, ho, wo) in new[]
        {
            (new[] { 1, 3, 64, 64 }, 256, 256), (new[] { 1, 3, 7, 9 }, 28, 36), (new[] { 2, 2, 33, 65 }, 13, 20),
            (new[] { 1, 1, 16, 5 }, 7, 11), (new[] { 1, 2, 5, 5 }, 5, 5), (new[] { 1, 1, 10, 13 }, 33, 130),
            (new[] { 1, 1, 1, 1 }, 3, 2), (new[] { 1, 1, 130, 77 }, 1, 1),
        })
        {
            int[] yShape = [x[0], x[1], ho, wo];
            yield return new KernelCheck("bilinear", Tensor.ShapeText(x) + "→" + Tensor.ShapeText(yShape), 2e-6, d =>
            {
                var data = CheckData.Uniform(21, Tensor.Count(x));
                using var tx = CheckData.Upload(d, data, x);
                using var ty = CheckData.Poisoned(d, yShape);
                Bilinear.Forward(tx, ty);
                return Comparison.Of(Bilinear.Reference(CheckData.Widen(data), x[0] * x[1], x[2], x[3], ho, wo), ty.Download());
            });
        }
    }
}
