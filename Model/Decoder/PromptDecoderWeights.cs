using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// Reads the prompt encoder's and mask decoder's tensors out of a state dict by their official
/// names, checking shapes, so a checkpoint of another architecture fails with the key it lacks.
/// </summary>
internal sealed class PromptDecoderWeights(StateDict weights, Device device, string prefix)
{
    public Device Device => device;

    public PromptDecoderWeights Scope(string name) => new(weights, device, prefix + name + ".");

    public bool Has(string name) => weights.Tensors.ContainsKey(prefix + name);

    public int[] Shape(string name) => Get(name).Shape;

    public float[] Host(string name, params int[] shape)
    {
        var t = Get(name);
        if (shape.Length > 0 && !t.Shape.SequenceEqual(shape))
            throw new SamException($"checkpoint tensor '{prefix + name}' has shape {Tensor.ShapeText(t.Shape)}, expected {Tensor.ShapeText(shape)}");
        return weights.FiniteFloat32(t);
    }

    public Tensor Upload(string name, params int[] shape)
    {
        var t = Get(name);
        var data = Host(name, shape);
        return Tensor.FromArray(device, data, t.Shape);
    }

    /// <summary>How many consecutive sub-modules "name.0", "name.1", ... the checkpoint holds.</summary>
    public int Count(string name)
    {
        int n = 0;
        while (weights.Tensors.Keys.Any(k => k.StartsWith($"{prefix}{name}.{n}.", StringComparison.Ordinal))) n++;
        return n;
    }

    /// <summary>An nn.Linear: weight [out, in] and bias [out].</summary>
    public LinearParams Linear(string name)
    {
        var w = Shape(name + ".weight");
        if (w.Length != 2) throw new SamException($"checkpoint tensor '{prefix}{name}.weight' is {Tensor.ShapeText(w)}, not a linear layer");
        return new LinearParams(Upload(name + ".weight"), Upload(name + ".bias", w[0]));
    }

    public sealed record LinearParams(Tensor Weight, Tensor Bias) : IDisposable
    {
        public int In => Weight.Dim(1);
        public int Out => Weight.Dim(0);

        public void Forward(Tensor x, Tensor y, Activation activation = Activation.None, Tensor? residual = null) =>
            Kernels.Linear.Forward(x, Weight, Bias, y, activation, residual, constantWeight: true);

        public void Dispose()
        {
            Weight.Dispose();
            Bias.Dispose();
        }
    }

    /// <summary>A LayerNorm's (or LayerNorm2d's) per-channel weight and bias.</summary>
    public NormParams Norm(string name)
    {
        var w = Shape(name + ".weight");
        if (w.Length != 1) throw new SamException($"checkpoint tensor '{prefix}{name}.weight' is {Tensor.ShapeText(w)}, not a norm");
        return new NormParams(Upload(name + ".weight"), Upload(name + ".bias", w[0]));
    }

    public sealed record NormParams(Tensor Weight, Tensor Bias) : IDisposable
    {
        /// <summary>LayerNorm over the last axis.</summary>
        public void Forward(Tensor x, Tensor y, float eps) => LayerNorm.Forward(x, Weight, Bias, eps, y);

        public void Dispose()
        {
            Weight.Dispose();
            Bias.Dispose();
        }
    }

    WeightTensor Get(string name) => weights.Tensors.TryGetValue(prefix + name, out var t)
        ? t : throw new SamException($"checkpoint has no tensor '{prefix + name}': not a SAM checkpoint, or another architecture");
}
