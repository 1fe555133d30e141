using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// The mask prompt path: conv 2×2 stride 2 → LayerNorm2d → GELU → conv 2×2 stride 2 →
/// LayerNorm2d → GELU → 1×1 conv, taking a [B, 1, 4h, 4w] low-resolution mask to the
/// [B, C, h, w] dense embedding.
/// </summary>
internal sealed class MaskDownscaling : IDisposable
{
    // LayerNorm2d's own default (common.py), not nn.LayerNorm's.
    const float LayerNorm2dEps = 1e-6f;

    readonly Tensor conv1W, conv1B, norm1W, norm1B, conv2W, conv2B, norm2W, norm2B, conv3W, conv3B;

    internal MaskDownscaling(PromptDecoderWeights w, int embedDim)
    {
        var c1 = w.Shape("0.weight");
        var c2 = w.Shape("3.weight");
        int hidden1 = c1[0], hidden2 = c2[0];
        conv1W = w.Upload("0.weight", hidden1, 1, 2, 2);
        conv1B = w.Upload("0.bias", hidden1);
        norm1W = w.Upload("1.weight", hidden1);
        norm1B = w.Upload("1.bias", hidden1);
        conv2W = w.Upload("3.weight", hidden2, hidden1, 2, 2);
        conv2B = w.Upload("3.bias", hidden2);
        norm2W = w.Upload("4.weight", hidden2);
        norm2B = w.Upload("4.bias", hidden2);
        conv3W = w.Upload("6.weight", embedDim, hidden2, 1, 1);
        conv3B = w.Upload("6.bias", embedDim);
    }

    public Tensor Forward(Tensor masks)
    {
        if (masks.Rank != 4 || masks.Dim(1) != 1 || masks.Dim(2) % 4 != 0 || masks.Dim(3) % 4 != 0)
            throw new ArgumentException($"mask downscaling takes [B, 1, 4h, 4w], got {masks.ShapeString}");
        int b = masks.Dim(0), h = masks.Dim(2), w = masks.Dim(3);
        var device = masks.Device;
        using var x1 = Tensor.Empty(device, b, conv1W.Dim(0), h / 2, w / 2);
        using var n1 = Tensor.Empty(device, x1.Shape);
        Conv2d.Forward(masks, conv1W, conv1B, 2, 0, x1);
        LayerNorm2d.Forward(x1, norm1W, norm1B, LayerNorm2dEps, n1);
        Gelu.Forward(n1, n1);
        using var x2 = Tensor.Empty(device, b, conv2W.Dim(0), h / 4, w / 4);
        using var n2 = Tensor.Empty(device, x2.Shape);
        Conv2d.Forward(n1, conv2W, conv2B, 2, 0, x2);
        LayerNorm2d.Forward(x2, norm2W, norm2B, LayerNorm2dEps, n2);
        Gelu.Forward(n2, n2);
        var y = Tensor.Empty(device, b, conv3W.Dim(0), h / 4, w / 4);
        Conv2d.Forward(n2, conv3W, conv3B, 1, 0, y);
        return y;
    }

    public void Dispose()
    {
        foreach (var t in new[] { conv1W, conv1B, norm1W, norm1B, conv2W, conv2B, norm2W, norm2B, conv3W, conv3B }) t.Dispose();
    }
}
