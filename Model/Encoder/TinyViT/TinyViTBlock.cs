using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's attention block: x + attn(x) (windowed, see <see cref="TinyViTAttention"/>), then the
/// depthwise local convolution (a ConvBn, no residual, no activation), then x + mlp(x) with the
/// MLP's own LayerNorm in front (norm, fc1, GELU, fc2). Tokens channels last, [B, H, W, C].
/// </summary>
internal sealed class TinyViTBlock(TinyViTAttention attn, ConvBn localConv, Tensor mlpNormWeight, Tensor mlpNormBias,
    Tensor fc1, Tensor fc1Bias, Tensor fc2, Tensor fc2Bias)
{
    public static TinyViTBlock Load(DeviceWeights store, string name, TinyViTConfig cfg, int stage)
    {
        int c = cfg.EmbedDims[stage], hidden = cfg.HiddenDims[stage], k = cfg.LocalConvSize;
        return new TinyViTBlock(
            TinyViTAttention.Load(store, name + ".attn", c, cfg.NumHeads[stage], cfg.WindowSizes[stage]),
            ConvBn.Load(store, name + ".local_conv", c, c, k, 1, k / 2, depthwise: true),
            store.Get(name + ".mlp.norm.weight", c), store.Get(name + ".mlp.norm.bias", c),
            store.Get(name + ".mlp.fc1.weight", hidden, c), store.Get(name + ".mlp.fc1.bias", hidden),
            store.Get(name + ".mlp.fc2.weight", c, hidden), store.Get(name + ".mlp.fc2.bias", c));
    }

    /// <summary>x [B, H, W, C], updated in place.</summary>
    public void Forward(Tensor x)
    {
        var device = x.Device;
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2);
        attn.Forward(x, x, residual: x);
        // The local convolution has no residual: its output is the MLP's input and residual.
        using var mixed = Tensor.Empty(device, x.Shape);
        localConv.Depthwise(x, mixed);
        using var normed = Tensor.Empty(device, x.Shape);
        LayerNorm.Forward(mixed, mlpNormWeight, mlpNormBias, TinyViTConfig.LayerNormEps, normed);
        using var hidden = Tensor.Empty(device, b, h, w, fc1.Dim(0));
        Linear.Forward(normed, fc1, fc1Bias, hidden, Activation.Gelu);
        Linear.Forward(hidden, fc2, fc2Bias, x, residual: mixed);
    }
}
