using System.Text;
using System.Text.Json;
using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Kernels.Check;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// SAM's mask postprocessing against the official code in float64: the decoder's 256² logits
/// upscaled to 1024², cropped to the resized image and resized to the original image size
/// (two bilinear passes, the second from a crop) must reproduce mask_logits.npy.
/// </summary>
public class BilinearFixtureTests
{
    [SkippableTheory]
    [InlineData("cpu", "native")]
    [InlineData("ilgpu-cpu", "tuned")]
    [InlineData("ilgpu-cpu", "portable")]
    public void PostprocessMatchesReference(string deviceName, string variant)
    {
        var dir = Fixtures.Require("sam-mini/shapes/cases/single_point");
        using var meta = JsonDocument.Parse(File.ReadAllText(Fixtures.Require("sam-mini/meta.json")));
        var shapes = meta.RootElement.GetProperty("shapes");
        int[] input = shapes.GetProperty("input_size").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] original = shapes.GetProperty("original_size").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var (lowRes, lowShape) = ReadNpy(Path.Combine(dir, "low_res_logits.npy"));
        var (expected, expectedShape) = ReadNpy(Path.Combine(dir, "mask_logits.npy"));
        Assert.Equal([lowShape[0], original[0], original[1]], expectedShape);

        var device = KernelChecks.Variants(Devices.Open(deviceName)).Single(d => KernelChecks.VariantName(d) == variant);
        int masks = lowShape[0];
        using var low = Tensor.FromArray(device, lowRes, 1, masks, lowShape[1], lowShape[2]);
        using var padded = CheckData.Poisoned(device, 1, masks, 1024, 1024);
        using var masksOut = CheckData.Poisoned(device, 1, masks, original[0], original[1]);
        Bilinear.Forward(low, padded);
        Bilinear.Forward(padded, input[0], input[1], masksOut);

        var cmp = Comparison.Of(CheckData.Widen(expected), masksOut.Download());
        // The stored low-res logits are float32 roundings of the float64 ones; a convex blend keeps that 6e-8.
        Assert.True(cmp.Within(5e-7), $"rel err {cmp.RelErr:E2}, max abs {cmp.MaxAbsErr:E2}, {cmp.NonFinite} non-finite");
    }

    // A little-endian float32 C-order .npy (format 1.0): magic, header length, dict header, data.
    static (float[] Data, int[] Shape) ReadNpy(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        int open = header.IndexOf('(', header.IndexOf("'shape'")), close = header.IndexOf(')', open);
        var shape = header[(open + 1)..close].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(int.Parse).ToArray();
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        Buffer.BlockCopy(bytes, 10 + headerLength, data, 0, data.Length * sizeof(float));
        return (data, shape);
    }
}
