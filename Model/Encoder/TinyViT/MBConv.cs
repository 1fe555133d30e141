using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's first-stage block: 1×1 ConvBn expanding the channels, GELU, depthwise 3×3 ConvBn,
/// GELU, 1×1 ConvBn back, plus the input, GELU. Channels last, resolution unchanged; the GELUs
/// after the first two convolutions run in their epilogues.
/// </summary>
internal sealed class MBConv(ConvBn conv1, ConvBn conv2, ConvBn conv3)
{
    public static MBConv Load(DeviceWeights store, string name, int channels, int hidden) => new(
        ConvBn.Load(store, name + ".conv1", hidden, channels, 1, 1, 0),
        ConvBn.Load(store, name + ".conv2", hidden, hidden, 3, 1, 1, depthwise: true),
        ConvBn.Load(store, name + ".conv3", channels, hidden, 1, 1, 0));

    /// <summary>x [B, H, W, C], updated in place.</summary>
    public void Forward(Tensor x)
    {
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2);
        using var expanded = Tensor.Empty(x.Device, b, h, w, conv1.OutChannels);
        using var mixed = Tensor.Empty(x.Device, b, h, w, conv1.OutChannels);
        conv1.Pointwise(x, expanded, Activation.Gelu);
        conv2.Depthwise(expanded, mixed, Activation.Gelu);
        conv3.Pointwise(mixed, x, residual: x);
        Gelu.Forward(x, x);
    }
}
