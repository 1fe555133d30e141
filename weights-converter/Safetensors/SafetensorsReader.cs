using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace SamEngine.Weights.Safetensors;

/// <summary>
/// Reads a safetensors file: an 8-byte little-endian header length, a JSON header mapping names to
/// {dtype, shape, data_offsets}, then the tensor bytes. The header is untrusted: its length is
/// checked against the file before anything is allocated, and the tensors must tile the data
/// region exactly (no gaps, overlaps, misaligned or out-of-range offsets) as the format requires.
/// </summary>
internal static class SafetensorsReader
{
    public const long MaxHeaderBytes = 100_000_000; // the format's own limit

    static readonly HashSet<string> KnownUnsupported = new(StringComparer.Ordinal)
    {
        "F64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    };

    public static (List<WeightTensor> Tensors, Dictionary<string, string> Metadata) Read(string path, SafeFileHandle file)
    {
        long length = RandomAccess.GetLength(file);
        if (length < 8) throw Bad(path, "the file is too short to be safetensors (truncated?)");
        var lenBytes = new byte[8];
        Pth.ZipDirectory.ReadAt(path, file, lenBytes, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > (ulong)(length - 8))
            throw Bad(path, $"the safetensors header claims {headerLength} bytes but the file has {length - 8} after the length field (truncated or corrupt)");
        if (headerLength > MaxHeaderBytes) throw Bad(path, $"the safetensors header is {headerLength} bytes, over the format's limit of {MaxHeaderBytes}");
        if (headerLength < 2) throw Bad(path, "the safetensors header is empty");

        var header = new byte[headerLength];
        Pth.ZipDirectory.ReadAt(path, file, header, 8);
        long dataStart = 8 + (long)headerLength, dataLength = length - dataStart;

        // JsonDocument decodes strings lazily; invalid UTF-8 inside one would only surface later.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw Bad(path, "the safetensors header is not valid UTF-8");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Bad(path, $"the safetensors header is not valid JSON ({e.Message.ReplaceLineEndings(" ")})");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "the safetensors header is not a JSON object");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<(string Name, DType DType, int[] Shape, long Begin, long End)>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                string name = Pth.PthReader.Printable(p.Name);
                if (!seen.Add(p.Name)) throw Bad(path, $"the safetensors header names '{name}' twice");
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "the safetensors __metadata__ is not an object");
                    foreach (var m in p.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw Bad(path, $"safetensors __metadata__ entry '{Pth.PthReader.Printable(m.Name)}' is not a string");
                    continue;
                }
                entries.Add(Entry(path, name, p.Value, dataLength));
            }

            // The tensors must tile the data region: sorted by offset, each starts where the last ended.
            long expected = 0;
            foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                if (e.Begin < expected) throw Bad(path, $"tensor '{e.Name}' (bytes {e.Begin}..{e.End}) overlaps another tensor");
                if (e.Begin > expected) throw Bad(path, $"the safetensors data has a gap of {e.Begin - expected} bytes before tensor '{e.Name}'");
                expected = e.End;
            }
            if (expected != dataLength)
                throw Bad(path, $"the safetensors tensors cover {expected} bytes but the data region has {dataLength} (truncated or padded)");

            var tensors = new List<WeightTensor>(entries.Count);
            foreach (var e in entries)
            {
                var stride = new long[e.Shape.Length];
                for (long s = 1, i = e.Shape.Length - 1; i >= 0; s *= e.Shape[i], i--) stride[i] = s;
                var view = new StorageView(path, file, dataStart + e.Begin, e.DType, 0, e.Shape, stride);
                tensors.Add(new WeightTensor(e.Name, e.Shape, e.DType, view.Reader));
            }
            return (tensors, metadata);
        }
    }

    static (string, DType, int[], long, long) Entry(string path, string name, JsonElement v, long dataLength)
    {
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, $"safetensors entry '{name}' is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad(path, $"tensor '{name}' has no dtype");
        string dtypeName = dt.GetString()!;
        DType dtype = dtypeName switch
        {
            "F32" => DType.F32,
            "F16" => DType.F16,
            "BF16" => DType.BF16,
            "I64" => DType.I64,
            _ when KnownUnsupported.Contains(dtypeName) => throw Bad(path, $"tensor '{name}' has dtype {dtypeName}; SAM weights are F32, F16 or BF16 (and I64 counters)"),
            _ => throw Bad(path, $"tensor '{name}' has an unknown dtype '{Pth.PthReader.Printable(dtypeName)}'"),
        };

        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}' has no shape");
        if (sh.GetArrayLength() > 8) throw Bad(path, $"tensor '{name}' has {sh.GetArrayLength()} dimensions");
        var shape = new int[sh.GetArrayLength()];
        long numel = 1;
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long n) || n < 0 || n > int.MaxValue)
                throw Bad(path, $"tensor '{name}' has a malformed shape {Short(sh)}");
            shape[k++] = (int)n;
            if (n != 0 && numel > Array.MaxLength / n) throw Bad(path, $"tensor '{name}' has shape {Short(sh)}, whose size overflows");
            numel *= n;
        }
        long bytes = numel * dtype.Size();
        if (bytes > Array.MaxLength) throw Bad(path, $"tensor '{name}' has shape {Short(sh)}, more values than one array can hold");

        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2
            || !off[0].TryGetInt64Safe(out long begin) || !off[1].TryGetInt64Safe(out long end))
            throw Bad(path, $"tensor '{name}' has malformed data_offsets");
        if (begin < 0 || end < begin || end > dataLength)
            throw Bad(path, $"tensor '{name}' has data_offsets [{begin}, {end}] outside the data region of {dataLength} bytes");
        if (end - begin != bytes)
            throw Bad(path, $"tensor '{name}' spans {end - begin} bytes but shape {Short(sh)} of {dtypeName} needs {bytes}");
        if (begin % dtype.Size() != 0) throw Bad(path, $"tensor '{name}' starts at byte {begin}, not aligned to its {dtype.Size()}-byte elements");
        return (name, dtype, shape, begin, end);
    }

    static bool TryGetInt64Safe(this JsonElement e, out long v)
    {
        v = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out v);
    }

    static string Short(JsonElement e)
    {
        var s = Pth.PthReader.Printable(e.GetRawText().ReplaceLineEndings(" "));
        return s.Length > 80 ? s[..80] + "…" : s;
    }

    static CheckpointException Bad(string path, string problem) => new(path, problem);
}
