using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Engine;

/// <summary>
/// A dense, row-major float32 tensor on one device. Tensors from <see cref="Empty"/> own a
/// pooled buffer and give it back on Dispose; <see cref="Reshape"/> and <see cref="Slice"/>
/// return views that share the buffer and own nothing.
/// </summary>
internal sealed class Tensor : IDisposable
{
    readonly DeviceBuffer buffer;
    readonly bool owns;
    bool disposed;

    Tensor(Device device, DeviceBuffer buffer, long offset, int[] shape, bool owns)
    {
        Device = device;
        this.buffer = buffer;
        Offset = offset;
        Shape = shape;
        Length = Count(shape);
        this.owns = owns;
    }

    public Device Device { get; }
    public int[] Shape { get; }
    public long Length { get; }
    /// <summary>Element offset into the underlying buffer (non-zero for slices).</summary>
    public long Offset { get; }
    public int Rank => Shape.Length;

    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    public static Tensor Empty(Device device, params int[] shape)
    {
        long n = Count(shape);
        return new Tensor(device, device.Pool.Rent(n), 0, (int[])shape.Clone(), owns: true);
    }

    public static Tensor FromArray(Device device, ReadOnlySpan<float> data, params int[] shape)
    {
        if (Count(shape) != data.Length)
            throw new ArgumentException($"{data.Length} values do not fill shape {ShapeText(shape)}");
        var t = Empty(device, shape);
        t.Upload(data);
        return t;
    }

    /// <summary>Host memory of a cpu-device tensor.</summary>
    public Span<float> Span
    {
        get
        {
            var host = buffer.Host ?? throw new InvalidOperationException($"tensor lives on {Device}, not in host memory");
            return host.AsSpan(checked((int)Offset), checked((int)Length));
        }
    }

    /// <summary>The backing array and offset of a cpu-device tensor, for code that needs an array.</summary>
    public (float[] Array, int Offset) HostArray =>
        (buffer.Host ?? throw new InvalidOperationException($"tensor lives on {Device}, not in host memory"), checked((int)Offset));

    /// <summary>Device memory of an ILGPU-device tensor.</summary>
    public ArrayView<float> View
    {
        get
        {
            var gpu = buffer.Gpu ?? throw new InvalidOperationException($"tensor lives on {Device}, which has no ILGPU buffer");
            return gpu.View.SubView(Offset, Length);
        }
    }

    public void Upload(ReadOnlySpan<float> data)
    {
        if (data.Length != Length) throw new ArgumentException($"{data.Length} values for a tensor of {Length}");
        if (buffer.Host != null) data.CopyTo(Span);
        else View.CopyFromCPU(data);
    }

    public float[] Download()
    {
        if (buffer.Host != null) return Span.ToArray();
        var result = new float[Length];
        Device.Synchronize();
        View.CopyToCPU(result);
        return result;
    }

    public void Fill(float value)
    {
        if (buffer.Host != null) Span.Fill(value);
        else
        {
            View.MemSet(Device.RequireAccelerator().DefaultStream, 0);
            if (value != 0) Upload(Enumerable.Repeat(value, checked((int)Length)).ToArray());
        }
    }

    /// <summary>A view with another shape of the same number of elements.</summary>
    public Tensor Reshape(params int[] shape)
    {
        int infer = Array.IndexOf(shape, -1);
        if (infer >= 0)
        {
            long rest = 1;
            for (int i = 0; i < shape.Length; i++) if (i != infer) rest *= shape[i];
            shape = (int[])shape.Clone();
            shape[infer] = checked((int)(Length / Math.Max(1, rest)));
        }
        if (Count(shape) != Length)
            throw new ArgumentException($"cannot reshape {ShapeText(Shape)} to {ShapeText(shape)}");
        return new Tensor(Device, buffer, Offset, (int[])shape.Clone(), owns: false);
    }

    /// <summary>A view of rows [start, start+count) along the first axis.</summary>
    public Tensor Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + count}) of {ShapeText(Shape)}");
        long inner = Length / Math.Max(1, Shape[0]);
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        return new Tensor(Device, buffer, Offset + start * inner, shape, owns: false);
    }

    public string ShapeString => ShapeText(Shape);

    public static string ShapeText(int[] shape) => "[" + string.Join("×", shape) + "]";

    public static long Count(int[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in {ShapeText(shape)}");
            n = checked(n * d);
        }
        return n;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (owns) Device.Pool.Return(buffer);
    }

    public override string ToString() => $"Tensor{ShapeString} on {Device.Kind.Name()}";
}
