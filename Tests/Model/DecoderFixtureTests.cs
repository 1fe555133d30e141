using SamEngine.Model;
using Xunit.Abstractions;

namespace SamEngine.Tests.Model;

/// <summary>
/// Every sam-mini prompt case through the predictor, from the image's reference embedding:
/// low-res logits, IoU predictions and upscaled logits within 2× PyTorch fp32's own error, mask
/// pixels flipped within PyTorch's count + 0.01% of the pixels.
/// </summary>
public class DecoderFixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var device in new[] { "cpu", "ilgpu-cpu", "opencl" })
            foreach (var image in DecoderFixtures.Images)
                foreach (var caseName in CaseNames(image))
                    data.Add(device, image, caseName);
        return data;
    }

    // Every case on every device. ilgpu-cpu emulates GPU threads: its 11 cases take 2–8 s each
    // on the 2-core dev machine (5–14 s under a load average of 22), 1–2 minutes for the whole
    // theory; cpu cases take under a second. opencl (PoCL in CI: work-groups run concurrently,
    // as on a GPU) is skipped with the reason where no OpenCL device exists.
    static string[] CaseNames(string image) => image == "shapes"
        ? ["single_point_multimask", "single_point", "two_points", "box", "box_and_point", "mask_input", "batched_boxes"]
        : ["single_point_multimask", "box"]; // the fixtures give the later images these two only

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void CaseMatchesTheReference(string device, string image, string caseName)
    {
        var dir = DecoderFixtures.CaseDir(image, caseName);
        using var predictor = DecoderFixtures.Predictor(device, image);
        float[]? maskInput = null;
        if (DecoderFixtures.ChainsFrom(dir) is { } from)
        {
            // The reference fed back its own single-mask low-res logits; so do we.
            var previous = DecoderFixtures.Run(predictor, DecoderFixtures.CaseDir(image, from));
            maskInput = previous.LowResLogits;
        }
        var p = DecoderFixtures.Run(predictor, dir, maskInput);
        output.WriteLine($"{device} {image}/{caseName}: decoder {p.DecoderTime.TotalMilliseconds:0} ms, postprocess {p.PostprocessTime.TotalMilliseconds:0} ms (B={p.Batch}, C={p.MaskCount})");

        var failures = new List<string>();
        void Check(string name, float[] ours, string file)
        {
            var reference = Npy.Read(Path.Combine(dir, file));
            var (maxAbs, rel) = DecoderFixtures.Error(ours, reference.ToDouble());
            var (boundAbs, boundRel) = DecoderFixtures.Bound(image, caseName, name);
            bool pass = maxAbs <= 2 * boundAbs && rel <= 2 * boundRel;
            output.WriteLine($"  {name,-16} max abs {maxAbs:0.00e+0} (bound {2 * boundAbs:0.00e+0})  rel-L2 {rel:0.00e+0} (bound {2 * boundRel:0.00e+0})  {(pass ? "ok" : "FAIL")}");
            if (!pass) failures.Add(name);
        }
        Check("low_res_logits", p.LowResLogits, "low_res_logits.npy");
        Check("iou_predictions", p.IouPredictions, "iou_predictions.npy");
        if (File.Exists(Path.Combine(dir, "mask_logits.npy"))) Check("mask_logits", p.MaskLogits!, "mask_logits.npy");

        var masks = Npy.Read(Path.Combine(dir, "masks.npy")).ToBool();
        Assert.Equal(masks.Length, p.MaskLogits!.Length);
        int flipped = 0;
        for (int i = 0; i < masks.Length; i++)
            if (p.MaskLogits[i] > 0 != masks[i]) flipped++;
        int torchFlips = DecoderFixtures.FlipBound(image, caseName, out int pixels);
        double flipBound = torchFlips + 1e-4 * masks.Length;
        output.WriteLine($"  mask pixels flipped {flipped} of {masks.Length} (bound {flipBound:0.#}; PyTorch fp32 flips {torchFlips} of {pixels})");
        if (flipped > flipBound) failures.Add("masks");
        Assert.True(failures.Count == 0, $"{device} {image}/{caseName}: outside the bound: {string.Join(", ", failures)}");
    }
}
