using System.CommandLine;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam embed --model M --image IMG -o EMB.npy`: the image encoder alone. Writes the embedding
/// (float32 1×256×64×64) and EMB.json beside it (original and input sizes, encoder config and
/// its digest; see <see cref="ImageEmbedding"/>), so prompts can be decoded later without
/// re-encoding. Both files are written whole or not at all.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint: official .pth or .safetensors.", Required = true };
        var image = new Option<string>("--image") { Description = "Image file: JPEG, PNG, BMP, GIF (first frame) or TGA.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Embedding .npy to write; its metadata goes beside it as .json.", Required = true };
        var device = Cli.DeviceOption();
        var cmd = new Command("embed", "Encode an image into its SAM image embedding (.npy + .json).") { model, image, output, device };
        cmd.SetAction(p => Cli.Guard(() => Run(p.GetValue(model)!, p.GetValue(image)!, p.GetValue(output)!, p.GetValue(device))));
        return cmd;
    }

    static int Run(string modelPath, string imagePath, string outputPath, string? deviceName)
    {
        // Everything that can be refused cheaply is checked before the model is loaded.
        if (!outputPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            throw new SamException($"{outputPath}: the output must be a .npy file (its metadata is written beside it as .json)");
        var folder = Path.GetDirectoryName(Path.GetFullPath(outputPath))!;
        if (!Directory.Exists(folder)) throw new SamException($"{outputPath}: folder {folder} does not exist");
        var rgb = ImageLoader.Load(imagePath);
        var device = Devices.Open(deviceName);

        using var encoder = SamImageEncoder.Load(modelPath, device);
        var embedding = encoder.Embed(rgb) with { Image = Path.GetFileName(imagePath) };
        embedding.Save(outputPath);
        Console.WriteLine($"{outputPath}: {Tensor.ShapeText(embedding.Shape)} float32, image {rgb.Height}×{rgb.Width} → input " +
            $"{embedding.InputSize.Height}×{embedding.InputSize.Width}; metadata {ImageEmbedding.MetadataPath(outputPath)}");
        Console.WriteLine($"encoder ({encoder.Config.Name}) on {device}: {encoder.LastEncodeTime.TotalSeconds:F2} s");
        return 0;
    }
}
