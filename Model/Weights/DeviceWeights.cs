using SamEngine.Engine;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// Uploads a checkpoint's tensors to a device once, checking each against the shape the model
/// expects, and owns the device copies. A wrong or missing key is the checkpoint's fault, so it
/// is a <see cref="SamException"/> naming the key.
/// </summary>
internal sealed class DeviceWeights : IDisposable
{
    readonly StateDict stateDict;
    readonly List<Tensor> owned = new();

    public DeviceWeights(StateDict stateDict, Device device)
    {
        this.stateDict = stateDict;
        Device = device;
    }

    public Device Device { get; }

    /// <summary>The tensor stored under <paramref name="key"/>, which must have exactly <paramref name="shape"/>.</summary>
    public Tensor Get(string key, params int[] shape) => Upload(Host(key, shape), shape);

    /// <summary>
    /// The values stored under <paramref name="key"/> (exactly <paramref name="shape"/>) on the host, for
    /// weights transformed at load (a BatchNorm folded into its convolution) before <see cref="Upload"/>.
    /// </summary>
    public float[] Host(string key, params int[] shape)
    {
        if (!stateDict.Tensors.TryGetValue(key, out var stored))
            throw new SamException($"checkpoint has no tensor '{key}'");
        if (!stored.Shape.SequenceEqual(shape))
            throw new SamException($"checkpoint tensor '{key}' has shape {Tensor.ShapeText(stored.Shape)}, expected {Tensor.ShapeText(shape)}");
        return stateDict.FiniteFloat32(stored);
    }

    /// <summary>Uploads values derived from the checkpoint and owns the device copy.</summary>
    public Tensor Upload(float[] values, params int[] shape) => Keep(Tensor.FromArray(Device, values, shape));

    /// <summary>Takes ownership of a tensor derived from the checkpoint (e.g. a precomputed table).</summary>
    public Tensor Keep(Tensor tensor)
    {
        owned.Add(tensor);
        return tensor;
    }

    /// <summary>Gives back a tensor that is no longer needed once its derived form is computed.</summary>
    public void Release(Tensor tensor)
    {
        owned.Remove(tensor);
        tensor.Dispose();
    }

    public long Bytes => owned.Sum(t => t.Length) * sizeof(float);

    public void Dispose()
    {
        foreach (var t in owned) t.Dispose();
        owned.Clear();
    }
}
