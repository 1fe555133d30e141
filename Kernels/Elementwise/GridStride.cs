using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>
/// Launch shape of the barrier-free memory-bound kernels: at most as many threads as the
/// accelerator keeps resident, thread t taking items t, t + Threads, t + 2·Threads, … of Count.
/// At every step neighbouring threads touch neighbouring items, so a GPU's loads and stores stay
/// coalesced, and a GPU is still filled. ILGPU's CPU accelerator keeps only one group of 16
/// threads resident and pays tens of µs of OS-thread synchronisation per group, so there the
/// same rule runs 16 long loops instead of one group per 16 items (a 1 M-element add: 5.7 s → 7 ms).
/// Kernels loop: for (int i = thread; i &lt; s.Count; i += s.Threads).
/// </summary>
internal readonly record struct GridStride(int Count, int Threads)
{
    public static GridStride For(Accelerator acc, long count)
    {
        int threads = (int)Math.Max(1, Math.Min(count, acc.MaxNumThreads));
        // The loop index must not wrap past int.MaxValue on its last step.
        if (count > int.MaxValue - threads) throw new ArgumentException($"{count} items are too many for one launch");
        return new GridStride((int)count, threads);
    }
}
