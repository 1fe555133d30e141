using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// sam.py's postprocess_masks for one mask: bilinear up to the encoder's square input size,
/// crop away the padding (keep the resized image's input size), bilinear to the original size.
/// <para>
/// The crop keeps the top rows (a view) and the left columns; columns are not contiguous, so the
/// cropped block is transposed (taking the first rows of the transpose) and the second resize runs
/// on the transposed image — bilinear interpolation treats both axes alike — then transposed back.
/// </para>
/// </summary>
public sealed class MaskPostprocessing(int imageSize, (int H, int W) inputSize, (int H, int W) originalSize)
{
    public int ImageSize { get; } = imageSize;
    public (int H, int W) InputSize { get; } = inputSize;
    public (int H, int W) OriginalSize { get; } = originalSize;

    /// <summary>One low-resolution mask's logits [h, w] (any shape of h·w values) → output [H, W] logits at the original size.</summary>
    public void Forward(Tensor lowRes, int lowResH, int lowResW, Tensor output)
    {
        var device = output.Device;
        int s = ImageSize;
        var (ih, iw) = InputSize;
        var (oh, ow) = OriginalSize;
        if (lowRes.Length != (long)lowResH * lowResW || output.Length != (long)oh * ow)
            throw new ArgumentException($"postprocess: {lowRes.ShapeString} → {output.ShapeString} is not {lowResH}×{lowResW} → {oh}×{ow}");
        using var padded = Tensor.Empty(device, 1, 1, s, s);
        Bilinear.Forward(lowRes.Reshape(1, 1, lowResH, lowResW), padded);
        using var croppedT = Tensor.Empty(device, s, ih);
        Permute.Forward(padded.Reshape(s, s).Slice(0, ih), [1, 0], croppedT);
        using var resizedT = Tensor.Empty(device, 1, 1, ow, oh);
        Bilinear.Forward(croppedT.Slice(0, iw).Reshape(1, 1, iw, ih), resizedT);
        Permute.Forward(resizedT.Reshape(ow, oh), [1, 0], output.Reshape(oh, ow));
    }
}
