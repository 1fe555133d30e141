using System.CommandLine;
using SamEngine.Weights;

namespace SamEngine.Tools.Commands;

/// <summary>`sam info MODEL`: what a checkpoint is, the config its weights imply, its size, and bad values.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A .pth (PyTorch zip) or .safetensors SAM checkpoint." };
        var cmd = new Command("info", "Show a checkpoint's format, inferred config, parameter count, dtype and size.") { model };
        cmd.SetAction(p => Cli.Guard(() => Run(p.GetValue(model)!)));
        return cmd;
    }

    static int Run(string path)
    {
        using var sd = StateDict.Load(path);
        var c = SamConfig.Infer(sd);
        string format = sd.Format switch
        {
            CheckpointFormat.PyTorch => "PyTorch zip checkpoint (pickle read through an allow-list)",
            _ => "safetensors",
        } + (sd.UsesHuggingFaceNames ? ", Hugging Face names (mapped to the official ones)" : "");

        Row("file", $"{path} ({new FileInfo(path).Length / 1e6:F1} MB)");
        Row("format", format);
        Row("tensors", $"{sd.Tensors.Count}, {sd.ParameterCount:N0} parameters, {DTypeSummary(sd)}, {sd.ByteCount / 1e6:F1} MB of values");
        if (c.TinyViT is { } t)
        {
            Row("encoder", $"MobileSAM {t.Summary()}; stage grids {string.Join(", ", Enumerable.Range(0, t.Stages).Select(t.Resolution))}");
            Row("image", $"{c.ImageSize}×{c.ImageSize}, stride {c.PatchSize}, embedding {c.OutChans}×{c.ImageEmbeddingSize}×{c.ImageEmbeddingSize}");
        }
        else
        {
            Row("encoder", $"ViT width {c.EncoderEmbedDim}, depth {c.EncoderDepth}, {c.EncoderNumHeads} heads (head dim {c.EncoderHeadDim}), " +
                $"MLP {c.EncoderMlpDim} (ratio {c.MlpRatio:0.##}), global attention in blocks " +
                (c.EncoderGlobalAttnIndexes.Count == 0 ? "none" : string.Join(", ", c.EncoderGlobalAttnIndexes)) + $", window {c.WindowSize}" +
                (c.QkvBias ? "" : ", no qkv bias") + (c.UseAbsPos ? "" : ", no absolute position embedding"));
            Row("image", $"{c.ImageSize}×{c.ImageSize}, patch {c.PatchSize}, embedding {c.OutChans}×{c.ImageEmbeddingSize}×{c.ImageEmbeddingSize}");
        }
        Row("prompt", $"embedding dim {c.PromptEmbedDim}, mask input channels {c.MaskInChans}");
        Row("decoder", $"depth {c.DecoderDepth}, MLP {c.DecoderMlpDim}, {c.DecoderHeads} heads (assumed, as in every official model), " +
            $"attention downsample {c.AttentionDownsampleRate}, {c.NumMultimaskOutputs} multimask outputs, IoU head depth {c.IouHeadDepth} hidden {c.IouHeadHiddenDim}");
        foreach (var (k, v) in sd.Metadata) Row("metadata", $"{k} = {v}");
        WarnNonFinite(path, sd.FindNonFinite());
        return 0;
    }

    static void Row(string key, string value) => Console.WriteLine($"{key,-9} {value}");

    internal static string DTypeSummary(StateDict sd)
    {
        var groups = sd.Tensors.Values.GroupBy(t => t.DType).ToList();
        return groups.Count == 1 ? groups[0].Key.TorchName()
            : "mixed: " + string.Join(", ", groups.Select(g => $"{g.Count()} {g.Key.TorchName()}"));
    }

    internal static void WarnNonFinite(string path, IReadOnlyList<(string Name, long Count)> found)
    {
        foreach (var (name, count) in found.Take(10))
            Console.Error.WriteLine($"sam: warning: {path}: tensor '{name}' has {count} NaN/Inf values");
        if (found.Count > 10) Console.Error.WriteLine($"sam: warning: {path}: {found.Count - 10} more tensors have NaN/Inf values");
    }
}
