using System.Collections;
using Microsoft.Win32.SafeHandles;

namespace SamEngine.Weights.Pth;

/// <summary>
/// Reads a PyTorch zip checkpoint (torch.save since 1.6): &lt;root&gt;/data.pkl describes the
/// tensors, &lt;root&gt;/data/&lt;key&gt; hold the raw storages. The pickle passes
/// <see cref="PickleGuard"/> before it is decoded; tensors stay in the file until read.
/// </summary>
internal static class PthReader
{
    // A ViT-H state dict's data.pkl is about 100 KB; this leaves room without letting a hostile
    // pickle make the decoder build millions of objects.
    const long MaxPickleBytes = 4L << 20;

    public static List<WeightTensor> Read(string path, SafeFileHandle file)
    {
        var entries = ZipDirectory.Read(path, file);
        var pkl = entries.Keys.Where(IsDataPkl).ToList();
        if (pkl.Count == 0) throw new CheckpointException(path, "the zip archive has no data.pkl, so it is not a PyTorch checkpoint");
        if (pkl.Count > 1) throw new CheckpointException(path, $"the zip archive has {pkl.Count} data.pkl files ({string.Join(", ", pkl)})");
        string root = pkl[0][..^"data.pkl".Length];

        if (entries.TryGetValue(root + "byteorder", out var order))
        {
            var b = new byte[Math.Min(order.Size, 16)];
            ZipDirectory.ReadAt(path, file, b, order.DataStart);
            if (System.Text.Encoding.ASCII.GetString(b) != "little")
                throw new CheckpointException(path, "the checkpoint was saved big-endian; only little-endian checkpoints are supported");
        }

        var entry = entries[pkl[0]];
        if (entry.Size > MaxPickleBytes)
            throw new CheckpointException(path, $"data.pkl is {entry.Size} bytes; a state dict's is far smaller (limit {MaxPickleBytes})");
        var pickle = new byte[entry.Size];
        ZipDirectory.ReadAt(path, file, pickle, entry.DataStart);
        if (ZipDirectory.Crc32(pickle) != entry.Crc32) throw new CheckpointException(path, "data.pkl is damaged (its CRC-32 does not match)");

        PickleGuard.Check(path, pickle);
        var top = new TorchUnpickler(path, root, entries).Decode(pickle);
        if (top is not Hashtable table)
            throw new CheckpointException(path, $"data.pkl holds {Describe(top)}, not a state dict");

        var tensors = new List<(long Sequence, WeightTensor Tensor)>(table.Count);
        foreach (DictionaryEntry e in table)
        {
            var k = e.Key;
            if (k is not string name) throw new CheckpointException(path, $"data.pkl has {Describe(k)} as a key; a state dict's keys are names");
            if (e.Value is not TensorRef t)
                throw new CheckpointException(path, $"'{Printable(name)}' holds {Describe(e.Value)}, not a tensor; not a plain state dict");
            tensors.Add((t.Sequence, Tensor(path, file, name, t)));
        }
        return tensors.OrderBy(x => x.Sequence).ThenBy(x => x.Tensor.Name, StringComparer.Ordinal).Select(x => x.Tensor).ToList();
    }

    static bool IsDataPkl(string name) => name == "data.pkl" || (name.EndsWith("/data.pkl", StringComparison.Ordinal) && name.IndexOf('/') == name.Length - 9);

    static WeightTensor Tensor(string path, SafeFileHandle file, string name, TensorRef t)
    {
        var s = t.Storage;
        long extent = StorageView.Extent(t.Offset, t.Shape, t.Stride);
        if (extent < 0 || extent > s.Elements)
            throw new CheckpointException(path, $"tensor '{Printable(name)}' (offset {t.Offset}, shape [{string.Join(", ", t.Shape)}], stride [{string.Join(", ", t.Stride)}]) reaches past its storage data/{s.Key} of {s.Elements} values");
        long numel = 1;
        foreach (var d in t.Shape)
            numel = numel == 0 || d == 0 ? 0 : numel > Array.MaxLength / d ? long.MaxValue : numel * d;
        if (numel > Array.MaxLength / s.DType.Size())
            throw new CheckpointException(path, $"tensor '{Printable(name)}' has {(numel == long.MaxValue ? "more" : numel.ToString())} values, more than one array can hold");
        // More values than its storage holds: a stride-0 or overlapping view, which no state dict needs
        // and which would make a small file read as many gigabytes.
        if (numel > s.Elements)
            throw new CheckpointException(path, $"tensor '{Printable(name)}' has {numel} values but its storage data/{s.Key} holds {s.Elements} (a stride-0 or overlapping view)");
        var view = new StorageView(path, file, s.Entry.DataStart, s.DType, t.Offset, t.Shape, t.Stride);
        return new WeightTensor(name, t.Shape, s.DType, view.Reader);
    }

    static string Describe(object? o) => o switch
    {
        null => "None",
        string => "a string",
        int or long or System.Numerics.BigInteger => "an integer",
        object[] => "a tuple",
        IList => "a list",
        Hashtable => "a dict",
        StorageRef => "a bare storage",
        _ => "a " + o.GetType().Name,
    };

    internal static string Printable(string s) => s.Length > 200 || s.Any(c => c < ' ' || c == 0x7f)
        ? string.Concat(s.Take(200).Select(c => c < ' ' || c == 0x7f ? '?' : c)) : s;
}
