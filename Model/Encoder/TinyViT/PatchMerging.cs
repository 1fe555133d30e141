using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's PatchMerging between stages: 1×1 ConvBn to the next width, GELU, depthwise 3×3
/// ConvBn with the merging's stride, GELU, 1×1 ConvBn. Channels last; the GELUs run in the
/// convolutions' epilogues.
/// </summary>
internal sealed class PatchMerging(ConvBn conv1, ConvBn conv2, ConvBn conv3)
{
    public static PatchMerging Load(DeviceWeights store, string name, int channels, int outChannels, int stride) => new(
        ConvBn.Load(store, name + ".conv1", outChannels, channels, 1, 1, 0),
        ConvBn.Load(store, name + ".conv2", outChannels, outChannels, 3, stride, 1, depthwise: true),
        ConvBn.Load(store, name + ".conv3", outChannels, outChannels, 1, 1, 0));

    /// <summary>x [B, H, W, C] → a new [B, H', W', out] (the caller owns it).</summary>
    public Tensor Forward(Tensor x)
    {
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), o = conv1.OutChannels, ho = conv2.OutputSize(h), wo = conv2.OutputSize(w);
        using var widened = Tensor.Empty(x.Device, b, h, w, o);
        conv1.Pointwise(x, widened, Activation.Gelu);
        using var merged = Tensor.Empty(x.Device, b, ho, wo, o);
        conv2.Depthwise(widened, merged, Activation.Gelu);
        var tokens = Tensor.Empty(x.Device, b, ho, wo, o);
        try
        {
            conv3.Pointwise(merged, tokens);
        }
        catch
        {
            tokens.Dispose();
            throw;
        }
        return tokens;
    }
}
