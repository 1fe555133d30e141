using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

/// <summary>A folder under the system temp directory, deleted with everything in it on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "samengine-weights-" + Guid.NewGuid().ToString("N"))).FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>One tensor of a PyTorch-style checkpoint built in a test: a view into a named storage.</summary>
internal sealed record TensorSpec(string Name, string Key, long Offset, int[] Shape, long[] Stride);

/// <summary>
/// Builds PyTorch zip checkpoints the way torch.save lays them out (root folder, data.pkl,
/// data/&lt;key&gt; storages stored uncompressed, version), written independently of the reader.
/// </summary>
internal sealed class PthBuilder
{
    public string Root { get; init; } = "archive";
    public readonly Dictionary<string, (DType DType, byte[] Bytes)> Storages = new();
    public readonly List<TensorSpec> Tensors = [];

    public static long[] Contiguous(int[] shape)
    {
        var s = new long[shape.Length];
        for (long acc = 1, i = shape.Length - 1; i >= 0; acc *= shape[i], i--) s[i] = acc;
        return s;
    }

    public PthBuilder Storage(string key, DType dtype, byte[] bytes) { Storages[key] = (dtype, bytes); return this; }

    public PthBuilder Tensor(string name, string key, long offset, int[] shape, long[]? stride = null)
    {
        Tensors.Add(new TensorSpec(name, key, offset, shape, stride ?? Contiguous(shape)));
        return this;
    }

    /// <summary>A contiguous tensor in a storage of its own.</summary>
    public PthBuilder Whole(string name, int[] shape, DType dtype, byte[] bytes)
    {
        string key = Storages.Count.ToString();
        return Storage(key, dtype, bytes).Tensor(name, key, 0, shape);
    }

    public static string StorageType(DType t) => t switch { DType.F32 => "FloatStorage", DType.F16 => "HalfStorage", DType.I64 => "LongStorage", _ => "BFloat16Storage" };

    public byte[] Pickle()
    {
        var w = new PickleWriter().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        foreach (var t in Tensors)
        {
            var (dtype, bytes) = Storages[t.Key];
            w.Str(t.Name).Tensor(StorageType(dtype), t.Key, bytes.Length / dtype.Size(), t.Offset, t.Shape, t.Stride);
        }
        return w.SetItems().Stop().ToArray();
    }

    public byte[] Build(byte[]? pickle = null) => Zip(Root, pickle ?? Pickle(), Storages.Select(s => (s.Key, s.Value.Bytes)));

    public static byte[] Zip(string root, byte[] pickle, IEnumerable<(string Key, byte[] Bytes)> storages)
    {
        var ms = new MemoryStream();
        using (var z = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, byte[] data)
            {
                using var s = z.CreateEntry($"{root}/{name}", CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
            Add("data.pkl", pickle);
            foreach (var (key, bytes) in storages) Add($"data/{key}", bytes);
            Add("version", "3\n"u8.ToArray());
        }
        return ms.ToArray();
    }
}

/// <summary>The fixture's tensors.json: per tensor its dtype, shape and the sha256 of its little-endian bytes.</summary>
internal static class FixtureTensors
{
    public sealed record Entry(string DType, int[] Shape, string Sha256, double Sum, double[] First);

    public static Dictionary<string, Entry> Load(string path)
    {
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => new Entry(
            p.Value.GetProperty("dtype").GetString()!,
            p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            p.Value.GetProperty("sha256").GetString()!,
            p.Value.GetProperty("sum").GetDouble(),
            p.Value.GetProperty("first").EnumerateArray().Select(x => x.GetDouble()).ToArray()));
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] Floats(params float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
}

/// <summary>
/// A zip archive written with every size and offset in zip64 fields (as archives over 4 GB must
/// be), to exercise that path of the reader with a small file.
/// </summary>
internal static class Zip64
{
    public static byte[] Write(IEnumerable<(string Name, byte[] Data)> members)
    {
        var ms = new MemoryStream();
        var w = new BinaryWriter(ms);
        var central = new List<(byte[] Name, uint Crc, long Size, long Offset)>();
        foreach (var (name, data) in members)
        {
            var n = System.Text.Encoding.UTF8.GetBytes(name);
            uint crc = SamEngine.Weights.Pth.ZipDirectory.Crc32(data);
            long offset = ms.Position;
            w.Write(0x04034b50u); w.Write((ushort)45); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0x21);
            w.Write(crc); w.Write(uint.MaxValue); w.Write(uint.MaxValue); w.Write((ushort)n.Length); w.Write((ushort)20);
            w.Write(n); w.Write((ushort)1); w.Write((ushort)16); w.Write((long)data.Length); w.Write((long)data.Length);
            w.Write(data);
            central.Add((n, crc, data.Length, offset));
        }
        long dirStart = ms.Position;
        foreach (var (n, crc, size, offset) in central)
        {
            w.Write(0x02014b50u); w.Write((ushort)45); w.Write((ushort)45); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0x21);
            w.Write(crc); w.Write(uint.MaxValue); w.Write(uint.MaxValue); w.Write((ushort)n.Length); w.Write((ushort)28); w.Write((ushort)0);
            w.Write((ushort)0); w.Write((ushort)0); w.Write(0u); w.Write(uint.MaxValue);
            w.Write(n); w.Write((ushort)1); w.Write((ushort)24); w.Write(size); w.Write(size); w.Write(offset);
        }
        long dirSize = ms.Position - dirStart, record = ms.Position;
        w.Write(0x06064b50u); w.Write(44L); w.Write((ushort)45); w.Write((ushort)45); w.Write(0u); w.Write(0u);
        w.Write((long)central.Count); w.Write((long)central.Count); w.Write(dirSize); w.Write(dirStart);
        w.Write(0x07064b50u); w.Write(0u); w.Write(record); w.Write(1u);
        w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0); w.Write(ushort.MaxValue); w.Write(ushort.MaxValue);
        w.Write(uint.MaxValue); w.Write(uint.MaxValue); w.Write((ushort)0);
        return ms.ToArray();
    }
}
