using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// Image to patch tokens: a patch×patch convolution with stride patch, moved to channels-last
/// (B, H/p, W/p, C) as the reference's PatchEmbed, plus the absolute position embedding that
/// ImageEncoderViT adds straight after it.
/// </summary>
internal sealed class PatchEmbed(Tensor weight, Tensor bias, Tensor? posEmbed, int patchSize)
{
    /// <summary>image [B, 3, H, W] → x [B, H/p, W/p, C].</summary>
    public void Forward(Tensor image, Tensor x)
    {
        using var _ = Profiler.Stage("patch_embed");
        int b = image.Dim(0), gh = image.Dim(2) / patchSize, gw = image.Dim(3) / patchSize, c = weight.Dim(0);
        using var proj = Tensor.Empty(image.Device, b, c, gh, gw);
        Conv2d.Forward(image, weight, bias, patchSize, 0, proj);
        Permute.Forward(proj, [0, 2, 3, 1], x);
        if (posEmbed != null) Add.Forward(x, posEmbed, x);
    }
}
