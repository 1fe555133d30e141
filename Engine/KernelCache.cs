using System.Collections.Concurrent;

namespace SamEngine.Engine;

/// <summary>
/// Compiled, loaded kernels of one device, keyed by kernel name and specialization. ILGPU
/// compilation costs tens of milliseconds per kernel; every launch after the first is a lookup.
/// </summary>
internal sealed class KernelCache
{
    readonly ConcurrentDictionary<string, Delegate> loaded = new();

    public int Count => loaded.Count;

    public T Get<T>(string key, Func<T> load) where T : Delegate =>
        (T)loaded.GetOrAdd(key, _ => load());
}
