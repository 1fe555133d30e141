using System.CommandLine;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam convert IN -o OUT.safetensors [--dtype fp16]`: a checkpoint (.pth, safetensors, Hugging Face
/// names) to a safetensors file with the official names and the inferred config as metadata.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("checkpoint") { Description = "A .pth (PyTorch zip) or .safetensors SAM checkpoint." };
        var output = new Option<string?>("--output", "-o") { Description = "The .safetensors file to write (default: the input's name with .safetensors)." };
        var dtype = new Option<string?>("--dtype") { Description = "Store as fp32, fp16 or bf16 (default: as in the input)." };
        var cmd = new Command("convert", "Convert a SAM checkpoint to safetensors (official tensor names, config in the metadata).") { input, output, dtype };
        cmd.SetAction(p => Cli.Guard(() => Run(p.GetValue(input)!, p.GetValue(output), p.GetValue(dtype))));
        return cmd;
    }

    static int Run(string input, string? output, string? dtypeName)
    {
        DType? dtype = null;
        if (dtypeName != null)
            dtype = DTypes.TryParse(dtypeName, out var t) ? t : throw new SamException($"--dtype: '{dtypeName}' is not fp32, fp16 or bf16");
        output ??= Path.ChangeExtension(input, ".safetensors");
        if (string.Equals(Path.GetFullPath(output), Path.GetFullPath(input), StringComparison.Ordinal))
            throw new SamException($"{output}: the output would overwrite the input; give another -o");

        OutputStamp.CheckMayWrite(output);
        var started = DateTime.UtcNow;
        using var sd = StateDict.Load(input);
        var config = SamConfig.Infer(sd);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["source"] = Path.GetFileName(input) };
        foreach (var (k, v) in config.ToMetadata()) metadata[k] = v;
        var tensors = config.ExpectedTensors().Select(e => sd.Tensors[e.Name]).ToList();
        // MobileSAM's checkpoints also hold TinyViT's ImageNet head and BatchNorm counters: kept, so nothing is lost.
        if (config.TinyViT != null) tensors.AddRange(sd.Tensors.Values.Where(t => TinyViTConfig.Unused(t.Name)));

        var summary = SafetensorsWriter.Write(output, tensors, metadata, dtype);
        OutputStamp.StampFiles("sam convert", output);
        var stored = dtype?.TorchName() ?? InfoCommand.DTypeSummary(sd);
        Console.WriteLine($"{output}: {tensors.Count} tensors, {summary.Parameters:N0} parameters, {stored}, " +
            $"{summary.Bytes / 1e6:F1} MB, {(DateTime.UtcNow - started).TotalSeconds:F1} s ({config.Summary()})");
        return 0;
    }
}
