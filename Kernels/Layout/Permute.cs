using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using SamEngine.Engine;
using SamEngine.Kernels.Check;

namespace SamEngine.Kernels;

/// <summary>
/// y = x.permute(axes) made contiguous (rank ≤ 6), as torch.permute(...).contiguous(). y has the
/// permuted shape and must not overlap x.
///
/// The permutation is first reduced to its essential form: size-1 axes dropped and output axes
/// that stay adjacent in x merged, so [B,N,3,H,d]→[3,B,H,N,d] copies whole d-rows and
/// NCHW→NHWC is a batch of 2D transposes.
/// </summary>
internal static class Permute
{
    public const int MaxRank = 6;

    public static void Forward(Tensor x, int[] axes, Tensor y)
    {
        int rank = x.Rank;
        if (axes.Length != rank || rank > MaxRank || axes.Order().Where((a, i) => a != i).Any())
            throw new ArgumentException($"permute: ({string.Join(", ", axes)}) is not a permutation of the {rank} axes of {x.ShapeString} (rank ≤ {MaxRank})");
        var shape = axes.Select(a => x.Shape[a]).ToArray();
        if (!y.Shape.SequenceEqual(shape))
            throw new ArgumentException($"permute: output {y.ShapeString} is not {Tensor.ShapeText(shape)}, {x.ShapeString} permuted by ({string.Join(", ", axes)})");
        if (x.Length == 0) return;
        using var _ = Profiler.Launch(y.Device, "permute", 0, 2.0 * x.Length * sizeof(float));
        var (sizes, strides) = Simplify(x.Shape, axes);
        if (y.Device.IsIlgpu) Ilgpu(y.Device, x, y, sizes, strides);
        else Cpu(x, y, sizes, strides);
    }

    /// <summary>Output axes as (size, stride in x), size-1 axes dropped and x-adjacent ones merged.</summary>
    static (int[] Sizes, int[] Strides) Simplify(int[] xShape, int[] axes)
    {
        var xStrides = new int[xShape.Length];
        for (int i = xShape.Length - 1, s = 1; i >= 0; s *= xShape[i], i--) xStrides[i] = s;
        var sizes = new List<int>();
        var strides = new List<int>();
        foreach (var a in axes)
        {
            if (xShape[a] == 1) continue;
            if (sizes.Count > 0 && strides[^1] == xShape[a] * xStrides[a])
            {
                sizes[^1] *= xShape[a];
                strides[^1] = xStrides[a];
            }
            else
            {
                sizes.Add(xShape[a]);
                strides.Add(xStrides[a]);
            }
        }
        return ([.. sizes], [.. strides]);
    }

    // Square tile of the native 2D transpose: 16 source and 16 destination lines in flight, few
    // enough that power-of-two strides (NCHW with H·W = 4096) do not evict each other from L1.
    const int Tile = 16;

    static void Cpu(Tensor x, Tensor y, int[] sizes, int[] strides)
    {
        var (xa, xo) = x.HostArray;
        var (ya, yo) = y.HostArray;
        int rank = sizes.Length;
        if (rank == 0 || rank == 1) { x.Span.CopyTo(y.Span); return; }
        var yStrides = new int[rank];
        for (int i = rank - 1, s = 1; i >= 0; s *= sizes[i], i--) yStrides[i] = s;

        // The last axis is still contiguous in x: copy whole rows.
        if (strides[^1] == 1)
        {
            int row = sizes[^1];
            RowBlocks.For(checked((int)(x.Length / row)), row, (start, end) =>
            {
                for (int r = start; r < end; r++)
                    xa.AsSpan(xo + SourceOffset(r, sizes, strides, rank - 1), row).CopyTo(ya.AsSpan(yo + r * row, row));
            });
            return;
        }

        // Otherwise x's contiguous axis j lands somewhere before the last output axis: tiles of
        // the (j, last) plane are transposed, for every index of the remaining axes.
        int j = Array.IndexOf(strides, 1);
        int rowsJ = sizes[j], cols = sizes[^1], colStride = strides[^1], rowStrideY = yStrides[j];
        var outerSizes = sizes.Where((_, i) => i != j && i != rank - 1).ToArray();
        var outerStrides = strides.Where((_, i) => i != j && i != rank - 1).ToArray();
        var outerYStrides = yStrides.Where((_, i) => i != j && i != rank - 1).ToArray();
        int outer = outerSizes.Aggregate(1, (p, s) => p * s);
        int tileRows = (rowsJ + Tile - 1) / Tile;
        RowBlocks.For(outer * tileRows, (long)Tile * cols, (start, end) =>
        {
            for (int task = start; task < end; task++)
            {
                int o = task / tileRows, a0 = task % tileRows * Tile, a1 = Math.Min(a0 + Tile, rowsJ);
                int src = xo + SourceOffset(o, outerSizes, outerStrides, outerSizes.Length);
                int dst = yo + SourceOffset(o, outerSizes, outerYStrides, outerSizes.Length);
                // Bounds were settled by the shapes; the tile loop is pure address arithmetic.
                ref float xr = ref MemoryMarshal.GetArrayDataReference(xa);
                ref float yr = ref MemoryMarshal.GetArrayDataReference(ya);
                for (int b0 = 0; b0 < cols; b0 += Tile)
                {
                    int b1 = Math.Min(b0 + Tile, cols);
                    for (int a = a0; a < a1; a++)
                    {
                        ref float yRow = ref Unsafe.Add(ref yr, dst + a * rowStrideY);
                        ref float xCol = ref Unsafe.Add(ref xr, src + a);
                        for (int b = b0; b < b1; b++) Unsafe.Add(ref yRow, b) = Unsafe.Add(ref xCol, b * colStride);
                    }
                }
            }
        });
    }

    /// <summary>Offset in x of row-major index `flat` over the first `count` output axes.</summary>
    static int SourceOffset(int flat, int[] sizes, int[] strides, int count)
    {
        int offset = 0;
        for (int i = count - 1; i >= 0; i--)
        {
            offset += flat % sizes[i] * strides[i];
            flat /= sizes[i];
        }
        return offset;
    }

    /// <summary>Output sizes and x strides of up to six axes, padded at the front with size 1.</summary>
    public struct Map
    {
        public int Size0, Size1, Size2, Size3, Size4, Size5;
        public int Stride0, Stride1, Stride2, Stride3, Stride4, Stride5;
    }

    static void Ilgpu(Device device, Tensor x, Tensor y, int[] sizes, int[] strides)
    {
        var acc = device.RequireAccelerator();
        var kernel = device.Kernels.Get("permute", () =>
            acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, Map, GridStride>(PermuteKernel));
        var s = new int[MaxRank];
        var t = new int[MaxRank];
        Array.Fill(s, 1);
        sizes.CopyTo(s, MaxRank - sizes.Length);
        strides.CopyTo(t, MaxRank - strides.Length);
        var map = new Map
        {
            Size0 = s[0], Size1 = s[1], Size2 = s[2], Size3 = s[3], Size4 = s[4], Size5 = s[5],
            Stride0 = t[0], Stride1 = t[1], Stride2 = t[2], Stride3 = t[3], Stride4 = t[4], Stride5 = t[5],
        };
        var grid = GridStride.For(acc, x.Length);
        kernel(grid.Threads, x.View, y.View, map, grid);
    }

    // Threads stride over the output, so writes are coalesced; each output index is peeled into
    // its coordinates, innermost first.
    [SamKernel("permute")]
    static void PermuteKernel(Index1D thread, ArrayView<float> x, ArrayView<float> y, Map m, GridStride g)
    {
        for (int o = thread; o < g.Count; o += g.Threads)
        {
            int i = o;
            int src = i % m.Size5 * m.Stride5;
            i /= m.Size5;
            src += i % m.Size4 * m.Stride4;
            i /= m.Size4;
            src += i % m.Size3 * m.Stride3;
            i /= m.Size3;
            src += i % m.Size2 * m.Stride2;
            i /= m.Size2;
            src += i % m.Size1 * m.Stride1;
            i /= m.Size1;
            src += i * m.Stride0;
            y[o] = x[src];
        }
    }

    public static double[] Reference(double[] x, int[] shape, int[] axes)
    {
        int rank = shape.Length;
        var xStrides = new long[rank];
        for (int i = rank - 1; i >= 0; i--) xStrides[i] = i == rank - 1 ? 1 : xStrides[i + 1] * shape[i + 1];
        var y = new double[x.Length];
        var coord = new int[rank];
        for (long flat = 0; flat < y.Length; flat++)
        {
            long rest = flat, src = 0;
            for (int i = rank - 1; i >= 0; i--)
            {
                coord[i] = (int)(rest % shape[axes[i]]);
                rest /= shape[axes[i]];
                src += coord[i] * xStrides[axes[i]];
            }
            y[flat] = x[src];
        }
        return y;
    }
}

internal sealed class PermuteChecks : ICheckSuite
{
    public IEnumerable<KernelCheck> Cases(Device device)
    {
        (int[] Shape, int[] Axes)[] cases =
        [
            ([7, 33], [1, 0]),
            ([65, 257], [1, 0]),
            ([3, 65], [0, 1]),
            ([2, 5, 3, 4, 7], [2, 0, 3, 1, 4]),   // qkv [B,N,3,H,d] → [3,B,H,N,d]
            ([2, 4, 5, 3, 7], [0, 2, 3, 1, 4]),   // heads back: [B,H,Hh,Ww,d] → [B,Hh,Ww,H,d]
            ([2, 33, 5, 7], [0, 2, 3, 1]),        // NCHW → NHWC
            ([2, 5, 7, 33], [0, 3, 1, 2]),        // NHWC → NCHW
            ([1, 7, 1, 9], [3, 2, 1, 0]),
            ([2, 3, 4, 5, 3, 2], [0, 1, 3, 2, 4, 5]), // window partition
            ([2, 3, 1, 5, 4, 3], [5, 4, 3, 2, 1, 0]),
            ([1], [0]),
        ];
        foreach (var (shape, axes) in cases)
            yield return new KernelCheck("permute", Tensor.ShapeText(shape) + " (" + string.Join(",", axes) + ")", 0, d =>
            {
                var x = CheckData.Uniform(61, Tensor.Count(shape));
                using var tx = CheckData.Upload(d, x, shape);
                using var ty = CheckData.Poisoned(d, axes.Select(a => shape[a]).ToArray());
                Permute.Forward(tx, axes, ty);
                return Comparison.Of(Permute.Reference(CheckData.Widen(x), shape, axes), ty.Download());
            });
    }
}
