// Segment the object under one point of a photo and write it out with a transparent background.
//
//   dotnet run -- MODEL IMAGE X Y [OUT.png]
//
// MODEL is a SAM checkpoint (sam_vit_b_01ec64.pth, a .safetensors file, a Hugging Face
// model.safetensors) or random:vit_b for random weights (real timings, meaningless masks).
using SamEngine;

if (args.Length is < 4 or > 5)
{
    Console.Error.WriteLine("usage: SegmentPhoto MODEL IMAGE X Y [OUT.png]");
    return 2;
}
var (modelPath, imagePath, output) = (args[0], args[1], args.Length == 5 ? args[4] : "cutout.png");
if (!float.TryParse(args[2], out float x) || !float.TryParse(args[3], out float y))
{
    Console.Error.WriteLine($"X and Y must be numbers (pixels), got '{args[2]}', '{args[3]}'");
    return 2;
}

try
{
    using var model = modelPath.StartsWith("random:") ? SamModel.Random(modelPath["random:".Length..]) : SamModel.Load(modelPath);
    Console.WriteLine($"model: {model}");

    var image = RgbImage.Load(imagePath);
    using var predictor = new SamPredictor(model);
    await predictor.SetImageAsync(image, new EncoderProgress());
    Console.WriteLine();

    // One foreground point, three candidates: keep the one the model rates best.
    var prediction = predictor.Predict(pointCoords: new float[,] { { x, y } }, pointLabels: [1], multimaskOutput: true);
    int best = prediction.BestMaskIndex();
    var mask = prediction.Mask(best);
    Console.WriteLine($"masks: predicted IoU {string.Join(", ", prediction.IouPredictions.Select(v => v.ToString("F3")))}; " +
                      $"best {best}: {mask.Count(m => m)} pixels, decoder {prediction.DecoderTime.TotalMilliseconds:F0} ms");

    File.WriteAllBytes(output, MaskPng.CutOut(image, mask));
    Console.WriteLine($"wrote {output} ({image.Width}×{image.Height}, RGBA)");
    return 0;
}
catch (SamException e)
{
    // Bad input (a missing file, a point outside the image…): one line, fit to show a user.
    Console.Error.WriteLine(e.Message);
    return 1;
}

// Reported on the encoder's thread, in order (Progress<T> would post each report to the thread pool).
sealed class EncoderProgress : IProgress<SamProgress>
{
    public void Report(SamProgress p) => Console.Write($"\rencoding: {p.Done}/{p.Total} blocks");
}
