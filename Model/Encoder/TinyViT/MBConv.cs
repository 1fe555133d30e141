using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's first-stage block: 1×1 ConvBn expanding the channels, GELU, depthwise 3×3 ConvBn,
/// GELU, 1×1 ConvBn back, plus the input, GELU. On NCHW maps, resolution unchanged.
/// </summary>
internal sealed class MBConv(ConvBn conv1, ConvBn conv2, ConvBn conv3)
{
    public static MBConv Load(DeviceWeights store, string name, int channels, int hidden) => new(
        ConvBn.Load(store, name + ".conv1", hidden, channels, 1, 1, 0),
        ConvBn.Load(store, name + ".conv2", hidden, hidden, 3, 1, 1, depthwise: true),
        ConvBn.Load(store, name + ".conv3", channels, hidden, 1, 1, 0));

    /// <summary>x [B, C, H, W], updated in place.</summary>
    public void Forward(Tensor x)
    {
        int b = x.Dim(0), h = x.Dim(2), w = x.Dim(3);
        using var expanded = Tensor.Empty(x.Device, b, conv1.OutChannels, h, w);
        using var mixed = Tensor.Empty(x.Device, b, conv1.OutChannels, h, w);
        conv1.Forward(x, expanded);
        Gelu.Forward(expanded, expanded);
        conv2.Forward(expanded, mixed);
        Gelu.Forward(mixed, mixed);
        using var projected = Tensor.Empty(x.Device, x.Shape);
        conv3.Forward(mixed, projected);
        Add.Forward(projected, x, x);
        Gelu.Forward(x, x);
    }
}
