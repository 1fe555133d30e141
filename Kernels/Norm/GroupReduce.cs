using ILGPU;
using ILGPU.Algorithms;

namespace SamEngine.Kernels;

/// <summary>
/// Sum and max across the threads of an explicitly grouped kernel whose group size is a power of
/// two: a tree in shared memory, halving the active threads at each barrier. Warp shuffles would
/// need fewer barriers but OpenCL has no portable sub-group shuffle, and ILGPU rejects them there.
/// Every thread returns the same value; the trailing barrier lets the next reduction reuse the
/// scratch.
/// </summary>
static class GroupReduce
{
    /// <summary>Largest group, and the shared-memory floats a reduction needs.</summary>
    public const int MaxGroup = 256;

    /// <summary>Group size for one group per row of n elements: a power of two, no more threads than the row can feed.</summary>
    public static int GroupSize(ILGPU.Runtime.Accelerator acc, int n)
    {
        int cap = Math.Min(MaxGroup, acc.MaxNumThreadsPerGroup);
        int size = 1;
        while (size < n && size * 2 <= cap) size *= 2;
        return Math.Max(size, Math.Min(acc.WarpSize, cap));
    }

    public static float Sum(float v, ArrayView<float> scratch)
    {
        int i = Group.IdxX;
        scratch[i] = v;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half >>= 1)
        {
            if (i < half) scratch[i] += scratch[i + half];
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }

    public static float Max(float v, ArrayView<float> scratch)
    {
        int i = Group.IdxX;
        scratch[i] = v;
        Group.Barrier();
        for (int half = Group.DimX / 2; half > 0; half >>= 1)
        {
            if (i < half) scratch[i] = XMath.Max(scratch[i], scratch[i + half]);
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }
}
