using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's Conv2d_BN: a convolution without bias followed by an eval-mode BatchNorm, folded at
/// load into one convolution with a bias, as the official Conv2d_BN.fuse does: with
/// s = γ / √(running_var + eps), W' = W·s per output channel and b' = β − running_mean·s. The fold is
/// computed in float64 and rounded once.
/// </summary>
internal sealed class ConvBn(Tensor weight, Tensor bias, int stride, int padding)
{
    public Tensor Weight { get; } = weight;
    public int OutChannels => Weight.Dim(0);

    /// <summary>Loads and folds `name`.c.weight [out, in/groups, k, k] and `name`.bn.*; depthwise: one group per channel.</summary>
    public static ConvBn Load(DeviceWeights store, string name, int outCh, int inCh, int k, int stride, int padding, bool depthwise = false)
    {
        int perGroup = depthwise ? 1 : inCh;
        var w = store.Host(name + ".c.weight", outCh, perGroup, k, k);
        var gamma = store.Host(name + ".bn.weight", outCh);
        var beta = store.Host(name + ".bn.bias", outCh);
        var mean = store.Host(name + ".bn.running_mean", outCh);
        var variance = store.Host(name + ".bn.running_var", outCh);
        var (folded, bias) = Fold(w, gamma, beta, mean, variance, TinyViTConfig.BatchNormEps);
        return new ConvBn(store.Upload(folded, outCh, perGroup, k, k), store.Upload(bias, outCh), stride, padding);
    }

    /// <summary>The folded weight (rows of w.Length / out per output channel) and bias.</summary>
    public static (float[] Weight, float[] Bias) Fold(float[] w, float[] gamma, float[] beta, float[] mean, float[] variance, double eps)
    {
        int outCh = gamma.Length, per = w.Length / outCh;
        var folded = new float[w.Length];
        var bias = new float[outCh];
        for (int o = 0; o < outCh; o++)
        {
            double scale = gamma[o] / Math.Sqrt(variance[o] + eps);
            for (int i = 0; i < per; i++) folded[o * per + i] = (float)(w[o * per + i] * scale);
            bias[o] = (float)(beta[o] - mean[o] * scale);
        }
        return (folded, bias);
    }

    /// <summary>A full convolution on NCHW maps (the patch embedding): x [B, in, H, W] → y [B, out, Ho, Wo].</summary>
    public void Conv(Tensor x, Tensor y) => Conv2d.Forward(x, Weight, bias, stride, padding, y);

    /// <summary>A 1×1 convolution on channels-last tokens, as the Linear it is: y [.., out] = act(x [.., in]·Wᵀ + b) + residual.</summary>
    public void Pointwise(Tensor x, Tensor y, Activation activation = Activation.None, Tensor? residual = null) =>
        Linear.Forward(x, Weight.Reshape(Weight.Dim(0), Weight.Dim(1)), bias, y, activation, residual);

    /// <summary>The depthwise convolution on channels-last maps: x [B, H, W, C] → y [B, Ho, Wo, C], then the activation.</summary>
    public void Depthwise(Tensor x, Tensor y, Activation activation = Activation.None) =>
        DepthwiseConv2d.Forward(x, Weight, bias, stride, padding, y, activation);

    /// <summary>The output's side for an input side.</summary>
    public int OutputSize(int size) => (size + 2 * padding - Weight.Dim(2)) / stride + 1;
}
