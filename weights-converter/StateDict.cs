namespace SamEngine.Weights;

/// <summary>Element type of a stored tensor.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
}

/// <summary>One named tensor of a checkpoint: its shape, stored type, and values as float32.</summary>
public sealed class WeightTensor
{
    public WeightTensor(string name, int[] shape, DType dtype, Func<float[]> read)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
        this.read = read;
    }

    readonly Func<float[]> read;

    public string Name { get; }
    public int[] Shape { get; }
    public DType DType { get; }
    public long Length => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The values widened to float32 (row-major, contiguous).</summary>
    public float[] ToFloat32() => read();
}

/// <summary>
/// A SAM state dict with the official key names, loaded from a .pth or a .safetensors file
/// (placeholder API: the safe loaders land with the checkpoint issue).
/// </summary>
public sealed class StateDict
{
    public StateDict(IReadOnlyDictionary<string, WeightTensor> tensors) => Tensors = tensors;

    public IReadOnlyDictionary<string, WeightTensor> Tensors { get; }

    public WeightTensor this[string name] => Tensors.TryGetValue(name, out var t)
        ? t : throw new KeyNotFoundException($"checkpoint has no tensor '{name}'");

    public static StateDict Load(string path) => throw new NotImplementedException("checkpoint loading lands with the checkpoint issue");
}
