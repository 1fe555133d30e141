using System.Runtime.InteropServices;

namespace SamEngine.FileFormats;

/// <summary>
/// An n-dimensional array as a .npy file holds it: a shape and its elements in C (row-major)
/// order, in a typed .NET array (byte[], bool[], float[], double[], int[], long[], ...).
/// </summary>
internal sealed class NpyArray
{
    public int[] Shape { get; }
    public NpyDType DType { get; }
    public Array Data { get; }

    public NpyArray(Array data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rank != 1) throw new ArgumentException("data must be a one-dimensional array");
        DType = NpyDTypes.Of(data);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape ({string.Join(", ", shape)})");
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} elements, data has {data.Length}");
        Shape = (int[])shape.Clone();
        Data = data;
    }

    public static NpyArray Of<T>(T[] data, params int[] shape) where T : unmanaged => new(data, shape);

    public int Rank => Shape.Length;
    public int Length => Data.Length;
    public string ShapeText => "(" + string.Join(", ", Shape) + ")";

    /// <summary>The raw little-endian bytes of the elements (bool as 0/1), without copying.</summary>
    public ReadOnlySpan<byte> Bytes => DType switch
    {
        NpyDType.UInt8 => new ReadOnlySpan<byte>((byte[])Data),
        NpyDType.Bool => MemoryMarshal.AsBytes<bool>((bool[])Data),
        NpyDType.Int8 => MemoryMarshal.AsBytes<sbyte>((sbyte[])Data),
        NpyDType.Int16 => MemoryMarshal.AsBytes<short>((short[])Data),
        NpyDType.UInt16 => MemoryMarshal.AsBytes<ushort>((ushort[])Data),
        NpyDType.Int32 => MemoryMarshal.AsBytes<int>((int[])Data),
        NpyDType.UInt32 => MemoryMarshal.AsBytes<uint>((uint[])Data),
        NpyDType.Int64 => MemoryMarshal.AsBytes<long>((long[])Data),
        NpyDType.UInt64 => MemoryMarshal.AsBytes<ulong>((ulong[])Data),
        NpyDType.Float32 => MemoryMarshal.AsBytes<float>((float[])Data),
        NpyDType.Float64 => MemoryMarshal.AsBytes<double>((double[])Data),
        _ => throw new InvalidOperationException(),
    };

    // Dispatch on DType, not on the array's type: the CLR lets an sbyte[] pass as a byte[] (and
    // int[] as uint[], ...), so a type pattern would read signed data as unsigned.

    /// <summary>The elements as float32 (the array itself when it already is; numeric conversion otherwise).</summary>
    public float[] ToFloat() => DType == NpyDType.Float32 ? (float[])Data : Convert(static v => (float)v);

    /// <summary>The elements as float64 (the array itself when it already is; numeric conversion otherwise).</summary>
    public double[] ToDouble() => DType == NpyDType.Float64 ? (double[])Data : Convert(static v => v);

    /// <summary>uint8 data as is; bool as 0/1. Other types are refused: narrowing them silently would hide a wrong fixture.</summary>
    public byte[] ToBytes() => DType switch
    {
        NpyDType.UInt8 => (byte[])Data,
        NpyDType.Bool => Array.ConvertAll((bool[])Data, v => v ? (byte)1 : (byte)0),
        _ => throw new InvalidOperationException($"array of {DType.Descr()} is not uint8"),
    };

    /// <summary>bool data as is; integers as value != 0. Floats are refused.</summary>
    public bool[] ToBool() => DType switch
    {
        NpyDType.Bool => (bool[])Data,
        NpyDType.Float32 or NpyDType.Float64 => throw new InvalidOperationException($"array of {DType.Descr()} is not boolean"),
        _ => Convert(static v => v != 0),
    };

    /// <summary>Integer data as int32 (overflow throws); floats are refused.</summary>
    public int[] ToInt32() => DType switch
    {
        NpyDType.Int32 => (int[])Data,
        NpyDType.Float32 or NpyDType.Float64 => throw new InvalidOperationException($"array of {DType.Descr()} is not integer"),
        _ => Convert(static v => checked((int)v)),
    };

    T[] Convert<T>(Func<double, T> f)
    {
        var result = new T[Data.Length];
        switch (DType)
        {
            case NpyDType.UInt8: { var a = (byte[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.Bool: { var a = (bool[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i] ? 1 : 0); break; }
            case NpyDType.Int8: { var a = (sbyte[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.Int16: { var a = (short[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.UInt16: { var a = (ushort[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.Int32: { var a = (int[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.UInt32: { var a = (uint[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.Int64: { var a = (long[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.UInt64: { var a = (ulong[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.Float32: { var a = (float[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
            case NpyDType.Float64: { var a = (double[])Data; for (int i = 0; i < a.Length; i++) result[i] = f(a[i]); break; }
        }
        return result;
    }
}
