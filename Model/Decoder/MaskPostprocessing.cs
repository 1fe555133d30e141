using SamEngine.Engine;
using SamEngine.Kernels;

namespace SamEngine.Model;

/// <summary>
/// sam.py's postprocess_masks for one mask: bilinear up to the encoder's square input size,
/// crop away the padding (keep the resized image's input size), bilinear to the original size.
/// The crop is not copied: the second resize reads the top-left region of the first's output.
/// </summary>
internal sealed class MaskPostprocessing
{
    public MaskPostprocessing(int imageSize, (int H, int W) inputSize, (int H, int W) originalSize)
    {
        if (inputSize.H < 1 || inputSize.W < 1 || inputSize.H > imageSize || inputSize.W > imageSize)
            throw new ArgumentException($"input size {inputSize.H}×{inputSize.W} does not fit the {imageSize}² encoder input");
        ImageSize = imageSize;
        InputSize = inputSize;
        OriginalSize = originalSize;
    }

    public int ImageSize { get; }
    public (int H, int W) InputSize { get; }
    public (int H, int W) OriginalSize { get; }

    /// <summary>One low-resolution mask's logits (h·w values) → output (H·W values) logits at the original size.</summary>
    public void Forward(Tensor lowRes, int lowResH, int lowResW, Tensor output)
    {
        var (oh, ow) = OriginalSize;
        if (lowRes.Length != (long)lowResH * lowResW || output.Length != (long)oh * ow)
            throw new ArgumentException($"postprocess: {lowRes.ShapeString} → {output.ShapeString} is not {lowResH}×{lowResW} → {oh}×{ow}");
        using var padded = Tensor.Empty(output.Device, 1, 1, ImageSize, ImageSize);
        Bilinear.Forward(lowRes.Reshape(1, 1, lowResH, lowResW), padded);
        Bilinear.Forward(padded, InputSize.H, InputSize.W, output.Reshape(1, 1, oh, ow));
    }
}
