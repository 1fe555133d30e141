using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Engine;

/// <summary>Raw storage for a tensor: a managed array on the cpu device, device memory elsewhere.</summary>
internal sealed class DeviceBuffer
{
    internal DeviceBuffer(long length, float[]? host, MemoryBuffer1D<float, Stride1D.Dense>? gpu)
    {
        Length = length;
        Host = host;
        Gpu = gpu;
    }

    public long Length { get; }
    public float[]? Host { get; }
    public MemoryBuffer1D<float, Stride1D.Dense>? Gpu { get; }
}

/// <summary>
/// Reuses buffers by exact length. A forward pass allocates the same activation sizes every
/// time, so after one warm-up pass every Rent is served from the pool and nothing is allocated.
/// </summary>
internal sealed class BufferPool : IDisposable
{
    readonly Accelerator? accelerator;
    readonly Dictionary<long, Stack<DeviceBuffer>> free = new();
    readonly object gate = new();

    internal BufferPool(Accelerator? accelerator) => this.accelerator = accelerator;

    /// <summary>Buffers created (not served from the pool) since start.</summary>
    public long Allocations { get; private set; }
    public long LiveBytes { get; private set; }
    public long PeakLiveBytes { get; private set; }
    public long PooledBytes { get; private set; }

    public DeviceBuffer Rent(long length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        lock (gate)
        {
            DeviceBuffer buffer;
            if (free.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                buffer = stack.Pop();
                PooledBytes -= length * sizeof(float);
            }
            else
            {
                buffer = Allocate(length);
                Allocations++;
            }
            LiveBytes += length * sizeof(float);
            PeakLiveBytes = Math.Max(PeakLiveBytes, LiveBytes);
            return buffer;
        }
    }

    public void Return(DeviceBuffer buffer)
    {
        lock (gate)
        {
            if (!free.TryGetValue(buffer.Length, out var stack)) free[buffer.Length] = stack = new();
            stack.Push(buffer);
            LiveBytes -= buffer.Length * sizeof(float);
            PooledBytes += buffer.Length * sizeof(float);
        }
    }

    /// <summary>Frees every pooled buffer (live ones are untouched).</summary>
    public void Trim()
    {
        lock (gate)
        {
            foreach (var stack in free.Values)
                foreach (var b in stack) b.Gpu?.Dispose();
            free.Clear();
            PooledBytes = 0;
        }
    }

    public void ResetPeak()
    {
        lock (gate) PeakLiveBytes = LiveBytes;
    }

    DeviceBuffer Allocate(long length)
    {
        if (accelerator == null)
        {
            if (length > Array.MaxLength) throw new SamException($"tensor of {length} floats exceeds the cpu device's array limit");
            return new DeviceBuffer(length, new float[length], null);
        }
        // ILGPU rejects zero-length buffers on some backends; give empty tensors one element.
        return new DeviceBuffer(length, null, accelerator.Allocate1D<float>(Math.Max(1, length)));
    }

    public void Dispose() => Trim();
}
