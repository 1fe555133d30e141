using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// NumPy's .npy format: the magic "\x93NUMPY", a version (1.0: 16-bit header length; 2.0: 32-bit;
/// 3.0: 32-bit and a UTF-8 header), a Python dict literal naming descr, fortran_order and shape,
/// padded so the data starts 64-byte aligned, then the raw little-endian elements.
/// Every failure is a <see cref="SamException"/> naming the file.
/// </summary>
internal static class Npy
{
    static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>2 GiB: what one .NET array holds.</summary>
    public const long MaxFileBytes = 1L << 31;

    public static NpyArray Read(string path)
    {
        using var stream = InputFile.OpenRead(path, path, MaxFileBytes);
        if (stream.Length == 0) throw new SamException($"{path}: empty file, not a .npy array");
        return Read(stream, path);
    }

    /// <summary>Reads one array from a stream; <paramref name="name"/> is used in error messages.</summary>
    public static NpyArray Read(Stream stream, string name)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy reading assumes a little-endian host");
        try
        {
            Span<byte> preamble = stackalloc byte[8];
            if (stream.ReadAtLeast(preamble, 8, throwOnEndOfStream: false) < 8 || !preamble[..6].SequenceEqual(Magic))
                throw new SamException($"{name}: not a .npy file (no \\x93NUMPY magic)");
            int major = preamble[6], minor = preamble[7];
            if (major is < 1 or > 3 || minor != 0)
                throw new SamException($"{name}: unsupported .npy version {major}.{minor} (1.0, 2.0 and 3.0 are known)");

            Span<byte> lenBytes = stackalloc byte[4];
            int lenSize = major == 1 ? 2 : 4;
            if (stream.ReadAtLeast(lenBytes[..lenSize], lenSize, throwOnEndOfStream: false) < lenSize)
                throw new SamException($"{name}: truncated .npy header");
            long headerLen = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(lenBytes) : BinaryPrimitives.ReadUInt32LittleEndian(lenBytes);
            if (headerLen > 1 << 20) throw new SamException($"{name}: implausible .npy header length {headerLen}");
            var headerBytes = new byte[headerLen];
            if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerBytes.Length)
                throw new SamException($"{name}: truncated .npy header");
            // Versions 1 and 2 promise latin-1; 3 allows UTF-8. The fields we read are ASCII either way.
            var header = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);

            var (dtype, shape) = ParseHeader(header, name);
            long count = 1;
            foreach (var d in shape)
                if ((count = d == 0 ? 0 : count > Array.MaxLength / d ? long.MaxValue : count * d) == 0) break;
            if (count > Array.MaxLength) throw new SamException($"{name}: array of shape ({string.Join(", ", shape)}) is too large to load");
            // The data must be there before anything is allocated for it.
            long needed = count * dtype.Size();
            if (stream.CanSeek && needed > stream.Length - stream.Position)
                throw new SamException($"{name}: truncated .npy data: shape ({string.Join(", ", shape)}) of {dtype.Descr()} needs {needed} bytes, file has {stream.Length - stream.Position}");

            var data = dtype.Allocate((int)count);
            var bytes = new NpyArray(data, shape).Bytes;
            var target = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(bytes), bytes.Length);
            int got = stream.ReadAtLeast(target, target.Length, throwOnEndOfStream: false);
            if (got < target.Length)
                throw new SamException($"{name}: truncated .npy data: shape ({string.Join(", ", shape)}) of {dtype.Descr()} needs {target.Length} bytes, file has {got}");
            if (data is bool[] flags) NormalizeBools(target, flags);
            return new NpyArray(data, shape);
        }
        catch (IOException e)
        {
            throw new SamException($"{name}: read failed ({e.Message})", e);
        }
    }

    // A bool array read as raw bytes may hold values other than 0/1; .NET bools must be exactly 0 or 1.
    static void NormalizeBools(Span<byte> raw, bool[] flags)
    {
        for (int i = 0; i < raw.Length; i++)
            if (raw[i] > 1) flags[i] = true;
    }

    static (NpyDType, int[]) ParseHeader(string header, string name)
    {
        Dictionary<string, object?> dict;
        try { dict = PyLiteral.ParseDict(header); }
        catch (FormatException e) { throw new SamException($"{name}: malformed .npy header ({e.Message}): {header.Trim()}"); }

        if (!dict.TryGetValue("descr", out var descrObj) || !dict.TryGetValue("shape", out var shapeObj) || !dict.TryGetValue("fortran_order", out var fortranObj))
            throw new SamException($"{name}: .npy header lacks descr, fortran_order or shape: {header.Trim()}");
        if (descrObj is not string descr || !NpyDTypes.TryParse(descr, out var dtype))
            throw new SamException($"{name}: unsupported dtype {PyLiteral.Show(descrObj)} (supported: |u1 |b1 |i1 <i2 <u2 <i4 <u4 <i8 <u8 <f4 <f8)");
        if (fortranObj is not bool fortran)
            throw new SamException($"{name}: fortran_order is not a boolean in the .npy header");
        if (fortran)
            throw new SamException($"{name}: Fortran-ordered arrays are not supported (save a C-contiguous array, e.g. np.ascontiguousarray)");
        if (shapeObj is not List<object?> dims || dims.Any(d => d is not long))
            throw new SamException($"{name}: shape is not a tuple of integers in the .npy header");
        var shape = new int[dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            var d = (long)dims[i]!;
            if (d < 0 || d > int.MaxValue) throw new SamException($"{name}: invalid dimension {d} in the .npy shape");
            shape[i] = (int)d;
        }
        return (dtype, shape);
    }

    /// <summary>Writes the array to <paramref name="path"/> through a temporary file renamed into place, so a failure leaves no partial file.</summary>
    public static void Write(string path, NpyArray array) => AtomicFile.Write(path, s => Write(s, array));

    public static void Write<T>(string path, T[] data, params int[] shape) where T : unmanaged => Write(path, new NpyArray(data, shape));

    public static void Write(Stream stream, NpyArray array)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy writing assumes a little-endian host");
        var shape = array.Rank == 1 ? $"({array.Shape[0]},)" : "(" + string.Join(", ", array.Shape) + ")";
        var dict = $"{{'descr': '{array.DType.Descr()}', 'fortran_order': False, 'shape': {shape}, }}";
        // NumPy pads with spaces and ends in '\n' so that the data starts on a 64-byte boundary.
        int version = dict.Length + 1 + 10 <= ushort.MaxValue ? 1 : 2;
        int prefix = version == 1 ? 10 : 12;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var header = dict.PadRight(total - prefix - 1) + "\n";

        Span<byte> pre = stackalloc byte[12];
        Magic.CopyTo(pre);
        pre[6] = (byte)version;
        pre[7] = 0;
        if (version == 1) BinaryPrimitives.WriteUInt16LittleEndian(pre[8..], (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(pre[8..], (uint)header.Length);
        stream.Write(pre[..prefix]);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(array.Bytes);
    }
}
