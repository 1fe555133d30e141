namespace SamEngine.FileFormats;

/// <summary>The element types a .npy file may hold here (NumPy's descr strings in <see cref="NpyDTypes"/>).</summary>
internal enum NpyDType { UInt8, Bool, Int8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64 }

internal static class NpyDTypes
{
    /// <summary>The descr NumPy writes for the type on a little-endian machine.</summary>
    public static string Descr(this NpyDType t) => t switch
    {
        NpyDType.UInt8 => "|u1",
        NpyDType.Bool => "|b1",
        NpyDType.Int8 => "|i1",
        NpyDType.Int16 => "<i2",
        NpyDType.UInt16 => "<u2",
        NpyDType.Int32 => "<i4",
        NpyDType.UInt32 => "<u4",
        NpyDType.Int64 => "<i8",
        NpyDType.UInt64 => "<u8",
        NpyDType.Float32 => "<f4",
        NpyDType.Float64 => "<f8",
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static int Size(this NpyDType t) => t switch
    {
        NpyDType.UInt8 or NpyDType.Bool or NpyDType.Int8 => 1,
        NpyDType.Int16 or NpyDType.UInt16 => 2,
        NpyDType.Int32 or NpyDType.UInt32 or NpyDType.Float32 => 4,
        _ => 8,
    };

    /// <summary>
    /// Parses a descr. Single-byte types may carry any byte-order mark; wider ones must be
    /// little-endian ('&lt;', or '=' which NumPy only writes on the machine it runs on).
    /// </summary>
    public static bool TryParse(string descr, out NpyDType type)
    {
        type = default;
        if (descr.Length < 3 || "<>|=".IndexOf(descr[0]) < 0) return false;
        var kind = descr[1..];
        NpyDType? t = kind switch
        {
            "u1" => NpyDType.UInt8,
            "b1" => NpyDType.Bool,
            "i1" => NpyDType.Int8,
            "i2" => NpyDType.Int16,
            "u2" => NpyDType.UInt16,
            "i4" => NpyDType.Int32,
            "u4" => NpyDType.UInt32,
            "i8" => NpyDType.Int64,
            "u8" => NpyDType.UInt64,
            "f4" => NpyDType.Float32,
            "f8" => NpyDType.Float64,
            _ => null,
        };
        if (t is not { } found) return false;
        if (found.Size() > 1 && descr[0] is '>' or '|') return false;
        type = found;
        return true;
    }

    /// <summary>
    /// The dtype of a .NET array, by its exact element type: the CLR lets an sbyte[] pass as a
    /// byte[] (and int[] as uint[], ...), so type patterns cannot tell them apart.
    /// </summary>
    public static NpyDType Of(Array data)
    {
        var t = data.GetType().GetElementType();
        if (t == typeof(byte)) return NpyDType.UInt8;
        if (t == typeof(bool)) return NpyDType.Bool;
        if (t == typeof(sbyte)) return NpyDType.Int8;
        if (t == typeof(short)) return NpyDType.Int16;
        if (t == typeof(ushort)) return NpyDType.UInt16;
        if (t == typeof(int)) return NpyDType.Int32;
        if (t == typeof(uint)) return NpyDType.UInt32;
        if (t == typeof(long)) return NpyDType.Int64;
        if (t == typeof(ulong)) return NpyDType.UInt64;
        if (t == typeof(float)) return NpyDType.Float32;
        if (t == typeof(double)) return NpyDType.Float64;
        throw new ArgumentException($"no .npy dtype for {data.GetType().Name}");
    }

    internal static Array Allocate(this NpyDType t, int length) => t switch
    {
        NpyDType.UInt8 => new byte[length],
        NpyDType.Bool => new bool[length],
        NpyDType.Int8 => new sbyte[length],
        NpyDType.Int16 => new short[length],
        NpyDType.UInt16 => new ushort[length],
        NpyDType.Int32 => new int[length],
        NpyDType.UInt32 => new uint[length],
        NpyDType.Int64 => new long[length],
        NpyDType.UInt64 => new ulong[length],
        NpyDType.Float32 => new float[length],
        NpyDType.Float64 => new double[length],
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };
}
