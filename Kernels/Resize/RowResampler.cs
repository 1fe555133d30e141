using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SamEngine.Kernels;

/// <summary>
/// The two passes of separable linear interpolation over host rows: across a row,
/// out[o] = w0·src[i0] + w1·src[i1] with output column o's taps; down, out = w0·upper + w1·lower.
/// In float32 with each product and the sum rounded on its own (no fused multiply-add), as the
/// ILGPU kernel writes it. Bilinear's cpu path and AMG's streamed mask postprocessing both use
/// these passes, so they compute the same values.
/// </summary>
internal sealed class RowResampler
{
    const int Lanes = 16;
    readonly LinearTaps[] taps;
    // With AVX-512, a block of 16 outputs whose taps lie within 32 consecutive inputs from
    // Start is two loads and two two-register permutes; Start < 0 marks a block done per output.
    readonly Block[] blocks;
    // Without AVX-512 (AVX2): blocks of 8 outputs within 16 consecutive inputs, each gathered by two
    // one-register permutes and a blend per tap.
    const int NarrowLanes = 8;
    readonly NarrowBlock[] narrowBlocks;

    readonly struct Block(int start, Vector512<int> index0, Vector512<int> index1, Vector512<float> weight0, Vector512<float> weight1)
    {
        public readonly int Start = start;
        public readonly Vector512<int> Index0 = index0, Index1 = index1;
        public readonly Vector512<float> Weight0 = weight0, Weight1 = weight1;
    }

    readonly struct NarrowBlock(int start, Vector256<int> index0, Vector256<int> index1, Vector256<float> weight0, Vector256<float> weight1)
    {
        public readonly int Start = start;
        public readonly Vector256<int> Index0 = index0, Index1 = index1;
        // Lanes whose tap is in the second register: all ones there, for the blend.
        public readonly Vector256<float> Upper0 = Vector256.GreaterThan(index0, Vector256.Create(NarrowLanes - 1)).AsSingle();
        public readonly Vector256<float> Upper1 = Vector256.GreaterThan(index1, Vector256.Create(NarrowLanes - 1)).AsSingle();
        public readonly Vector256<float> Weight0 = weight0, Weight1 = weight1;
    }

    public RowResampler(int inSize, int outSize)
    {
        InSize = inSize;
        OutSize = outSize;
        taps = LinearTaps.All(inSize, outSize);
        blocks = Avx512F.IsSupported ? new Block[outSize / Lanes] : [];
        for (int b = 0; b < blocks.Length; b++)
        {
            int o = b * Lanes, start = BlockStart(o, Lanes);
            if (start < 0)
            {
                blocks[b] = new Block(-1, default, default, default, default);
                continue;
            }
            var t = taps[o..(o + Lanes)];
            blocks[b] = new Block(start,
                Lanewise(i => t[i].I0 - start), Lanewise(i => t[i].I1 - start), Lanewise(i => t[i].W0), Lanewise(i => t[i].W1));
        }
        narrowBlocks = !Avx512F.IsSupported && Avx2.IsSupported ? new NarrowBlock[outSize / NarrowLanes] : [];
        for (int b = 0; b < narrowBlocks.Length; b++)
        {
            int o = b * NarrowLanes, start = BlockStart(o, NarrowLanes);
            if (start < 0)
            {
                narrowBlocks[b] = new NarrowBlock(-1, default, default, default, default);
                continue;
            }
            var t = taps[o..(o + NarrowLanes)];
            narrowBlocks[b] = new NarrowBlock(start, NarrowLanewise(i => t[i].I0 - start), NarrowLanewise(i => t[i].I1 - start),
                NarrowLanewise(i => t[i].W0), NarrowLanewise(i => t[i].W1));
        }
    }

    /// <summary>
    /// Where the two input registers of the block of outputs [o, o + lanes) start, so that all its
    /// taps lie within 2·lanes inputs from there; −1 when they do not (the block goes output by output).
    /// </summary>
    int BlockStart(int o, int lanes)
    {
        int start = Math.Min(taps[o].I0, InSize - 2 * lanes);
        return start < 0 || taps[o + lanes - 1].I1 - start >= 2 * lanes ? -1 : start;
    }

    static Vector256<T> NarrowLanewise<T>(Func<int, T> f) => Vector256.Create(Enumerable.Range(0, NarrowLanes).Select(f).ToArray());

    static Vector512<T> Lanewise<T>(Func<int, T> f) => Vector512.Create(Enumerable.Range(0, Lanes).Select(f).ToArray());

    public int InSize { get; }
    public int OutSize { get; }

    /// <summary>The first dst.Length outputs of resizing the InSize values of src.</summary>
    public void Across(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length < InSize || dst.Length > OutSize) throw new ArgumentException($"resample {InSize} → {OutSize}: src {src.Length}, dst {dst.Length}");
        int o = 0;
        if (blocks.Length > 0)
        {
            ref float s = ref MemoryMarshal.GetReference(src);
            ref float d = ref MemoryMarshal.GetReference(dst);
            for (int b = 0; b < dst.Length / Lanes; b++, o += Lanes)
            {
                ref readonly var k = ref blocks[b];
                if (k.Start < 0)
                {
                    Scalar(src, dst, o, o + Lanes);
                    continue;
                }
                var lower = Vector512.LoadUnsafe(ref s, (nuint)k.Start);
                var upper = Vector512.LoadUnsafe(ref s, (nuint)(k.Start + Lanes));
                var a = Avx512F.PermuteVar16x32x2(lower, k.Index0, upper);
                var c = Avx512F.PermuteVar16x32x2(lower, k.Index1, upper);
                (k.Weight0 * a + k.Weight1 * c).StoreUnsafe(ref d, (nuint)o);
            }
        }
        else if (narrowBlocks.Length > 0)
        {
            ref float s = ref MemoryMarshal.GetReference(src);
            ref float d = ref MemoryMarshal.GetReference(dst);
            for (int b = 0; b < dst.Length / NarrowLanes; b++, o += NarrowLanes)
            {
                ref readonly var k = ref narrowBlocks[b];
                if (k.Start < 0)
                {
                    Scalar(src, dst, o, o + NarrowLanes);
                    continue;
                }
                var lower = Vector256.LoadUnsafe(ref s, (nuint)k.Start);
                var upper = Vector256.LoadUnsafe(ref s, (nuint)(k.Start + NarrowLanes));
                var a = Avx.BlendVariable(Avx2.PermuteVar8x32(lower, k.Index0), Avx2.PermuteVar8x32(upper, k.Index0), k.Upper0);
                var c = Avx.BlendVariable(Avx2.PermuteVar8x32(lower, k.Index1), Avx2.PermuteVar8x32(upper, k.Index1), k.Upper1);
                (k.Weight0 * a + k.Weight1 * c).StoreUnsafe(ref d, (nuint)o);
            }
        }
        Scalar(src, dst, o, dst.Length);
    }

    void Scalar(ReadOnlySpan<float> src, Span<float> dst, int from, int to)
    {
        for (int o = from; o < to; o++)
        {
            var t = taps[o];
            dst[o] = t.W0 * src[t.I0] + t.W1 * src[t.I1];
        }
    }

    /// <summary>dst = w0·upper + w1·lower, over dst.Length values.</summary>
    public static void Down(ReadOnlySpan<float> upper, float w0, ReadOnlySpan<float> lower, float w1, Span<float> dst)
    {
        if (upper.Length < dst.Length || lower.Length < dst.Length) throw new ArgumentException($"blend of rows {upper.Length}, {lower.Length} into {dst.Length}");
        int i = 0, n = dst.Length;
        ref float u = ref MemoryMarshal.GetReference(upper);
        ref float l = ref MemoryMarshal.GetReference(lower);
        ref float d = ref MemoryMarshal.GetReference(dst);
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> v0 = Vector512.Create(w0), v1 = Vector512.Create(w1);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                (v0 * Vector512.LoadUnsafe(ref u, (nuint)i) + v1 * Vector512.LoadUnsafe(ref l, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> v0 = Vector256.Create(w0), v1 = Vector256.Create(w1);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                (v0 * Vector256.LoadUnsafe(ref u, (nuint)i) + v1 * Vector256.LoadUnsafe(ref l, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++) dst[i] = w0 * upper[i] + w1 * lower[i];
    }
}
