using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's PatchMerging between stages: 1×1 ConvBn to the next width, GELU, depthwise 3×3
/// ConvBn with the merging's stride, GELU, 1×1 ConvBn; the map comes out as tokens, channels last.
/// </summary>
internal sealed class PatchMerging(ConvBn conv1, ConvBn conv2, ConvBn conv3)
{
    public static PatchMerging Load(DeviceWeights store, string name, int channels, int outChannels, int stride) => new(
        ConvBn.Load(store, name + ".conv1", outChannels, channels, 1, 1, 0),
        ConvBn.Load(store, name + ".conv2", outChannels, outChannels, 3, stride, 1, depthwise: true),
        ConvBn.Load(store, name + ".conv3", outChannels, outChannels, 1, 1, 0));

    /// <summary>x [B, C, H, W] → a new [B, H', W', out] (the caller owns it).</summary>
    public Tensor Forward(Tensor x)
    {
        int b = x.Dim(0), h = x.Dim(2), w = x.Dim(3), o = conv1.OutChannels, ho = conv2.OutputSize(h), wo = conv2.OutputSize(w);
        using var t1 = Tensor.Empty(x.Device, b, o, h, w);
        conv1.Forward(x, t1);
        Gelu.Forward(t1, t1);
        using var t2 = Tensor.Empty(x.Device, b, o, ho, wo);
        conv2.Forward(t1, t2);
        Gelu.Forward(t2, t2);
        using var t3 = Tensor.Empty(x.Device, b, o, ho, wo);
        conv3.Forward(t2, t3);
        var tokens = Tensor.Empty(x.Device, b, ho, wo, o);
        Permute.Forward(t3, [0, 2, 3, 1], tokens);
        return tokens;
    }
}
