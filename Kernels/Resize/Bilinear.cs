using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>F.interpolate(mode="bilinear", align_corners=False, antialias=False) on [B, C, H, W] → [B, C, Ho, Wo].</summary>
internal static class Bilinear
{
    public static void Forward(Tensor x, Tensor y) =>
        Forward(x, x.Rank == 4 ? x.Shape[2] : 0, x.Rank == 4 ? x.Shape[3] : 0, y);

    /// <summary>
    /// Resizes only the top-left height × width region of each input plane, as SAM's
    /// postprocessing does after cropping the 1024² mask to the un-padded input size
    /// (F.interpolate(x[..., :height, :width], ...)), without copying the crop first.
    /// </summary>
    public static void Forward(Tensor x, int height, int width, Tensor y)
    {
        if (x.Rank != 4 || y.Rank != 4 || x.Shape[0] != y.Shape[0] || x.Shape[1] != y.Shape[1])
            throw new ArgumentException($"bilinear: {x.ShapeString} → {y.ShapeString} is not [B, C, H, W] → [B, C, Ho, Wo]");
        if (height < 1 || width < 1 || height > x.Shape[2] || width > x.Shape[3])
            throw new ArgumentException($"bilinear: region {height}×{width} is empty or outside input {x.ShapeString}");
        if (y.Length > int.MaxValue || x.Length > int.MaxValue) throw new ArgumentException($"bilinear: {x.ShapeString} → {y.ShapeString} is too large");
        var s = new ResizeDims(x.Shape[0] * x.Shape[1], height, width, x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]);
        using var _ = Profiler.Launch(y.Device, "bilinear", 6.0 * y.Length, 4.0 * ((long)s.Planes * height * width + y.Length));
        if (y.Device.IsIlgpu)
        {
            var acc = y.Device.RequireAccelerator();
            var kernel = y.Device.Kernels.Get("bilinear", () =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ResizeDims, GridStride>(BilinearKernel));
            var grid = GridStride.For(acc, y.Length);
            kernel(grid.Threads, x.View, y.View, s, grid);
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
        var across = new RowResampler(s.W, s.Wo);
        var down = LinearTaps.All(s.H, s.Ho);
        var needed = new bool[s.H];
        foreach (var t in down) needed[t.I0] = needed[t.I1] = true;
        CpuCores.For(0, s.Planes * s.H, r =>
        {
            if (!needed[r % s.H]) return;
            across.Across(x.Array.AsSpan(x.Offset + (r / s.H * s.PlaneH + r % s.H) * s.PlaneW, s.W), rows.Array.AsSpan(rows.Offset + r * s.Wo, s.Wo));
        });
        CpuCores.For(0, s.Planes * s.Ho, r =>
        {
            int plane = r / s.Ho;
            var t = down[r % s.Ho];
            RowResampler.Down(rows.Array.AsSpan(rows.Offset + (plane * s.H + t.I0) * s.Wo, s.Wo), t.W0,
                rows.Array.AsSpan(rows.Offset + (plane * s.H + t.I1) * s.Wo, s.Wo), t.W1, y.Array.AsSpan(y.Offset + r * s.Wo, s.Wo));
        });
    }

    // Threads stride over the output, so writes are coalesced.
    [SamKernel("bilinear")]
    static void BilinearKernel(Index1D thread, ArrayView<float> x, ArrayView<float> y, ResizeDims s, GridStride g)
    {
        for (int i = thread; i < g.Count; i += g.Threads)
        {
            int ox = i % s.Wo, t = i / s.Wo;
            int oy = t % s.Ho, plane = t / s.Ho;
            var ty = LinearTaps.Of(s.H, s.Ho, oy);
            var tx = LinearTaps.Of(s.W, s.Wo, ox);
            int row0 = (plane * s.PlaneH + ty.I0) * s.PlaneW, row1 = (plane * s.PlaneH + ty.I1) * s.PlaneW;
            float top = tx.W0 * x[row0 + tx.I0] + tx.W1 * x[row0 + tx.I1];
            float bottom = tx.W0 * x[row1 + tx.I0] + tx.W1 * x[row1 + tx.I1];
            y[i] = ty.W0 * top + ty.W1 * bottom;
        }
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

/// <summary>The H×W top-left region of Planes (B·C) planes of PlaneH×PlaneW, resized to Ho×Wo.</summary>
internal readonly record struct ResizeDims(int Planes, int H, int W, int PlaneH, int PlaneW, int Ho, int Wo);

internal sealed class BilinearChecks : ICheckSuite
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
            yield return Case(x, x[2], x[3], ho, wo);
        // SAM's crop of the padded 1024² mask before resizing to the original size.
        yield return Case([1, 3, 64, 64], 64, 48, 75, 130);
        yield return Case([2, 1, 20, 24], 13, 17, 31, 9);
    }

    static KernelCheck Case(int[] x, int h, int w, int ho, int wo)
    {
        int[] yShape = [x[0], x[1], ho, wo];
        string region = h == x[2] && w == x[3] ? "" : $"[..{h}, ..{w}]";
        return new KernelCheck("bilinear", Tensor.ShapeText(x) + region + "→" + Tensor.ShapeText(yShape), 2e-6, d =>
        {
            var data = CheckData.Uniform(21, Tensor.Count(x));
            using var tx = CheckData.Upload(d, data, x);
            using var ty = CheckData.Poisoned(d, yShape);
            Bilinear.Forward(tx, h, w, ty);
            var crop = new double[x[0] * x[1] * h * w];
            for (int p = 0; p < x[0] * x[1]; p++)
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++)
                        crop[(p * h + r) * w + c] = data[(p * x[2] + r) * x[3] + c];
            return Comparison.Of(Bilinear.Reference(crop, x[0] * x[1], h, w, ho, wo), ty.Download());
        });
    }
}
