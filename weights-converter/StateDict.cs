using Microsoft.Win32.SafeHandles;
using SamEngine.FileFormats;
using SamEngine.Weights.Pth;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Weights;

/// <summary>Where a state dict came from.</summary>
internal enum CheckpointFormat
{
    /// <summary>Built in memory.</summary>
    Memory,
    /// <summary>A PyTorch zip checkpoint (torch.save), as the official .pth files are.</summary>
    PyTorch,
    Safetensors,
}

/// <summary>
/// A SAM state dict with the official key names, loaded from a .pth or a .safetensors file
/// (Hugging Face names are mapped onto the official ones). Loading reads only the container's
/// index; tensor values stay in the file until <see cref="WeightTensor.ToFloat32"/> asks for
/// them, so the file stays open until the state dict is disposed.
/// </summary>
internal sealed class StateDict : IDisposable
{
    public StateDict(IReadOnlyDictionary<string, WeightTensor> tensors) => Tensors = tensors;

    StateDict(string path, CheckpointFormat format, bool huggingFace, Dictionary<string, WeightTensor> tensors,
        IReadOnlyDictionary<string, string> metadata, SafeFileHandle file)
    {
        Path = path;
        Format = format;
        UsesHuggingFaceNames = huggingFace;
        Tensors = tensors;
        Metadata = metadata;
        this.file = file;
    }

    readonly SafeFileHandle? file;

    /// <summary>The tensors by official name, in the file's order.</summary>
    public IReadOnlyDictionary<string, WeightTensor> Tensors { get; }

    /// <summary>The file it was loaded from ("(memory)" for one built in code).</summary>
    public string Path { get; } = "(memory)";

    public CheckpointFormat Format { get; } = CheckpointFormat.Memory;

    /// <summary>Whether the file used Hugging Face's names (mapped on load).</summary>
    public bool UsesHuggingFaceNames { get; }

    /// <summary>The safetensors __metadata__ (empty for .pth).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    public long ParameterCount => Tensors.Values.Sum(t => t.Length);
    public long ByteCount => Tensors.Values.Sum(t => t.ByteLength);

    public WeightTensor this[string name] => Tensors.TryGetValue(name, out var t)
        ? t : throw new CheckpointException(Path, $"checkpoint has no tensor '{name}'");

    /// <summary>
    /// Loads a PyTorch zip checkpoint (.pth) or a safetensors file, telling them apart by content.
    /// Any problem is a <see cref="CheckpointException"/> naming the file.
    /// </summary>
    public static StateDict Load(string path)
    {
        if (InputFile.Problem(path, out _) is { } problem) throw new CheckpointException(path, problem);
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot open ({e.Message.ReplaceLineEndings(" ")})", e);
        }

        try
        {
            var head = new byte[9];
            int n = RandomAccess.Read(file, head, 0);
            List<WeightTensor> tensors;
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            CheckpointFormat format;
            string ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
            if (n >= 4 && head[0] == 'P' && head[1] == 'K')
            {
                format = CheckpointFormat.PyTorch;
                tensors = PthReader.Read(path, file);
            }
            else if ((n == 9 && head[8] == '{') || ext == ".safetensors")
            {
                format = CheckpointFormat.Safetensors;
                (tensors, var meta) = SafetensorsReader.Read(path, file);
                metadata = meta;
            }
            else if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
                throw new CheckpointException(path, "is a legacy (pre-1.6) PyTorch checkpoint; re-save it with torch.save in PyTorch 1.6 or later");
            else if (ext is ".pth" or ".pt" or ".bin")
                throw new CheckpointException(path, "is not a PyTorch zip checkpoint (no zip signature; corrupt or truncated?)");
            else
                throw new CheckpointException(path, "is neither a PyTorch checkpoint (.pth) nor a safetensors file");

            bool hf = HuggingFaceNames.Detect(tensors.Select(t => t.Name));
            if (hf)
            {
                var official = HuggingFaceNames.ToOfficial(tensors.Select(t => t.Name).ToList());
                tensors = tensors.Select((t, i) => official[i] == null ? null : t.Renamed(official[i]!)).OfType<WeightTensor>().ToList();
            }
            var byName = new Dictionary<string, WeightTensor>(tensors.Count, StringComparer.Ordinal);
            foreach (var t in tensors)
                if (!byName.TryAdd(t.Name, t)) throw new CheckpointException(path, $"tensor '{PthReader.Printable(t.Name)}' appears twice");
            return new StateDict(path, format, hf, byName, metadata, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A tensor's values for a model to run on: float32, all finite. NaN or ±Inf weights make every
    /// output NaN, so a checkpoint holding them is refused here (`sam info` lists them all).
    /// </summary>
    public float[] FiniteFloat32(WeightTensor tensor)
    {
        if (!tensor.DType.IsFloat()) throw new CheckpointException(Path, $"tensor '{tensor.Name}' is {tensor.DType.TorchName()}, not a float weight");
        var values = tensor.ToFloat32();
        long count = 0;
        foreach (var v in values)
            if (!float.IsFinite(v)) count++;
        if (count > 0)
        {
            throw new CheckpointException(Path, $"tensor '{tensor.Name}' has {count} NaN/Inf values; a checkpoint with non-finite weights is refused (`sam info` lists them)");
        }
        return values;
    }

    /// <summary>Tensors holding NaN or ±Inf, with how many such values each has (reads every tensor).</summary>
    public IReadOnlyList<(string Name, long Count)> FindNonFinite()
    {
        var found = new List<(string, long)>();
        foreach (var t in Tensors.Values)
        {
            long n = DTypes.CountNonFinite(t.ToBytes(), t.DType);
            if (n > 0) found.Add((t.Name, n));
        }
        return found;
    }

    public void Dispose() => file?.Dispose();
}
