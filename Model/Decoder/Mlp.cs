using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>mask_decoder.py's MLP: linear layers with ReLU between them (none after the last).</summary>
internal sealed class Mlp : IDisposable
{
    readonly PromptDecoderWeights.LinearParams[] layers;

    internal Mlp(PromptDecoderWeights w)
    {
        int n = w.Count("layers");
        if (n == 0) throw new SamException("checkpoint MLP has no layers");
        layers = Enumerable.Range(0, n).Select(i => w.Linear($"layers.{i}")).ToArray();
        for (int i = 1; i < n; i++)
            if (layers[i].In != layers[i - 1].Out)
                throw new SamException($"checkpoint MLP layer {i} takes {layers[i].In} features, layer {i - 1} gives {layers[i - 1].Out}");
    }

    public int InputDim => layers[0].In;
    public int OutputDim => layers[^1].Out;

    /// <summary>x [rows, in] → y [rows, out].</summary>
    public void Forward(Tensor x, Tensor y)
    {
        int rows = x.Dim(0);
        Tensor current = x;
        for (int i = 0; i < layers.Length; i++)
        {
            bool last = i == layers.Length - 1;
            var next = last ? y : Tensor.Empty(x.Device, rows, layers[i].Out);
            layers[i].Forward(current, next, last ? Activation.None : Activation.Relu);
            if (current != x) current.Dispose();
            current = next;
        }
    }

    public void Dispose()
    {
        foreach (var l in layers) l.Dispose();
    }
}
