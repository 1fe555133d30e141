using System.Runtime.InteropServices;

namespace SamEngine.Weights;

/// <summary>Fills a destination with a tensor's stored bytes: row-major, contiguous, little-endian.</summary>
internal delegate void ByteReader(Span<byte> destination);

/// <summary>
/// One named tensor of a checkpoint: its shape, stored type, and values. Values are read from the
/// file when asked for (never held twice), so a loaded checkpoint costs no memory until used.
/// </summary>
internal sealed class WeightTensor
{
    /// <summary>A tensor whose values are produced as float32 (and stored as <paramref name="dtype"/>).</summary>
    public WeightTensor(string name, int[] shape, DType dtype, Func<float[]> read)
        : this(name, shape, dtype, FromValues(read, dtype)) => values = read;

    internal WeightTensor(string name, int[] shape, DType dtype, ByteReader bytes)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
        this.bytes = bytes;
    }

    readonly ByteReader bytes;
    readonly Func<float[]>? values;

    public string Name { get; }
    public int[] Shape { get; }
    public DType DType { get; }
    public long Length => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => Length * DType.Size();

    /// <summary>The values widened to float32 (row-major, contiguous).</summary>
    public float[] ToFloat32()
    {
        if (values != null) return values();
        var result = new float[Length];
        if (DType == DType.F32 && BitConverter.IsLittleEndian)
        {
            bytes(MemoryMarshal.AsBytes(result.AsSpan())); // straight from the file into the result
            return result;
        }
        var raw = ToBytes();
        DTypes.ToFloat32(raw, DType, result);
        return result;
    }

    /// <summary>The stored bytes (<see cref="DType"/>, little-endian, row-major, contiguous).</summary>
    public byte[] ToBytes()
    {
        var raw = new byte[ByteLength];
        bytes(raw);
        return raw;
    }

    /// <summary>Writes the stored bytes into <paramref name="destination"/>, which must be <see cref="ByteLength"/> long.</summary>
    public void ReadBytes(Span<byte> destination)
    {
        if (destination.Length != ByteLength)
            throw new ArgumentException($"tensor '{Name}' has {ByteLength} bytes, destination has {destination.Length}");
        bytes(destination);
    }

    internal WeightTensor Renamed(string name) => values != null
        ? new WeightTensor(name, Shape, DType, values)
        : new WeightTensor(name, Shape, DType, bytes);

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}] {DType.TorchName()}";

    static ByteReader FromValues(Func<float[]> read, DType dtype) => dst =>
    {
        var v = read();
        if ((long)v.Length * dtype.Size() != dst.Length)
            throw new InvalidOperationException($"tensor values have {v.Length} elements, shape says {dst.Length / dtype.Size()}");
        DTypes.FromFloat32(v, dtype, dst);
    };
}
