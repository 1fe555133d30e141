using System.Buffers.Binary;
using System.Text.Json;
using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Weights.Safetensors;

/// <summary>What a write produced, and the values worth a warning.</summary>
internal sealed record WriteSummary(long Bytes, long Parameters, IReadOnlyList<(string Name, long Count)> NonFinite);

/// <summary>
/// Writes a standard safetensors file: 8-byte little-endian header length, a JSON header (padded
/// with spaces so the data starts 8-byte aligned), then every tensor's bytes back to back, without
/// gaps (the format forbids them). The header lists the tensors in the given order; the data holds
/// them in that order too, except that wider elements go first (int64 counters before float32 before
/// 16-bit weights), so every tensor starts aligned to its element size. One tensor is in memory at a time. The
/// file appears under its name only when complete: it is written beside it and renamed.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>
    /// Writes through a temporary file renamed into place (<see cref="AtomicFile"/>). Non-finite
    /// weights are refused before the rename: a failure leaves nothing behind.
    /// </summary>
    public static WriteSummary Write(string path, IReadOnlyList<WeightTensor> tensors, IReadOnlyDictionary<string, string> metadata, DType? dtype = null)
    {
        WriteSummary? summary = null;
        AtomicFile.Write(path, stream =>
        {
            summary = WriteTo(stream, tensors, metadata, dtype);
            if (summary.NonFinite.Count > 0)
            {
                var (name, count) = summary.NonFinite[0];
                throw new SamException($"{path}: not written: tensor '{name}' has {count} NaN/Inf values" +
                    (summary.NonFinite.Count > 1 ? $" ({summary.NonFinite.Count - 1} more tensors have some)" : "") + "; a checkpoint with non-finite weights is refused");
            }
        });
        return summary!;
    }

    internal static WriteSummary WriteTo(Stream stream, IReadOnlyList<WeightTensor> tensors, IReadOnlyDictionary<string, string> metadata, DType? dtype)
    {
        var header = Header(tensors, metadata, dtype);
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        stream.Write(len);
        stream.Write(header);

        long bytes = 8 + header.Length, parameters = 0;
        var nonFinite = new List<(string, long)>();
        foreach (var t in Layout(tensors, dtype))
        {
            var target = Target(t, dtype);
            byte[] data;
            if (target == t.DType) data = t.ToBytes();
            else
            {
                data = new byte[t.Length * target.Size()];
                DTypes.FromFloat32(t.ToFloat32(), target, data);
            }
            // Counted after narrowing, so values that overflow fp16 are reported too.
            long bad = DTypes.CountNonFinite(data, target);
            if (bad > 0) nonFinite.Add((t.Name, bad));
            stream.Write(data);
            bytes += data.Length;
            parameters += t.Length;
        }
        return new WriteSummary(bytes, parameters, nonFinite);
    }

    /// <summary>The data's order: by element size, widest first, the given order within a size (a stable sort).</summary>
    static IEnumerable<WeightTensor> Layout(IReadOnlyList<WeightTensor> tensors, DType? dtype) =>
        tensors.OrderByDescending(t => Target(t, dtype).Size());

    /// <summary>What a tensor is written as: the requested float type for weights; integers as stored.</summary>
    static DType Target(WeightTensor t, DType? dtype) => t.DType.IsFloat() ? dtype ?? t.DType : t.DType;

    static byte[] Header(IReadOnlyList<WeightTensor> tensors, IReadOnlyDictionary<string, string> metadata, DType? dtype)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            var offsets = new Dictionary<WeightTensor, long>(ReferenceEqualityComparer.Instance);
            long end = 0;
            foreach (var t in Layout(tensors, dtype))
            {
                offsets[t] = end;
                end += t.Length * Target(t, dtype).Size();
            }
            foreach (var t in tensors)
            {
                var target = Target(t, dtype);
                long size = t.Length * target.Size(), offset = offsets[t];
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", target.SafetensorsName());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + size);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}
