using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SamEngine.Engine;

/// <summary>
/// Pinned float buffers of the native path reached through 64-byte-aligned pointers (vector loads
/// that never split a cache line): a kernel's per-thread scratch, kept in a [ThreadStatic] field of
/// its own and grown on demand, or an array pinned for good (packed weights).
/// </summary>
internal static unsafe class PinnedScratch
{
    /// <summary>At least n floats of the buffer in store, which is allocated pinned, or replaced, when too small.</summary>
    public static float* Get(ref float[]? store, long n)
    {
        if (store == null || store.Length < n + 16)
            store = GC.AllocateUninitializedArray<float>(checked((int)(n + 16)), pinned: true);
        return Aligned(store);
    }

    /// <summary>The first 64-byte boundary in an array allocated pinned.</summary>
    public static float* Aligned(float[] pinned) => Aligned((float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned)));

    /// <summary>The first 64-byte boundary at or after p (in memory that stays put: pinned, or under fixed).</summary>
    public static float* Aligned(float* p) => (float*)(((nint)p + 63) & ~(nint)63);
}
