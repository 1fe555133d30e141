namespace SamEngine.Weights;

/// <summary>
/// MobileSAM's image encoder (TinyViT, mobile_sam/modeling/tiny_vit_sam.py) as its weights show
/// it: every size is read off the tensors, nothing is fixed to the official vit_t. Stage 0 is
/// convolutional (MBConv blocks), the later stages are TinyViT blocks (windowed attention with a
/// learned bias per relative offset, a depthwise local convolution, an MLP); every stage but the
/// last ends in a PatchMerging. The one size the weights cannot show, PatchMerging's stride, follows
/// the official rule: 1 when the merged width is 320, 448 or 576, else 2.
/// </summary>
internal sealed record TinyViTConfig
{
    public const string Prefix = "image_encoder.";
    public const float LayerNormEps = 1e-5f;
    public const float BatchNormEps = 1e-5f;
    /// <summary>The official forward_features reshapes the last stage to this grid before the neck.</summary>
    public const int EmbeddingGrid = 64;
    static readonly int[] StrideOneWidths = [320, 448, 576];

    public required IReadOnlyList<int> EmbedDims { get; init; }
    public required IReadOnlyList<int> Depths { get; init; }
    /// <summary>Heads per stage; stage 0 is convolutional and has none (0).</summary>
    public required IReadOnlyList<int> NumHeads { get; init; }
    /// <summary>Attention window per stage; 0 for stage 0.</summary>
    public required IReadOnlyList<int> WindowSizes { get; init; }
    /// <summary>Hidden width of each stage's MLP (stage 0: of its MBConv blocks).</summary>
    public required IReadOnlyList<int> HiddenDims { get; init; }
    public required int LocalConvSize { get; init; }
    public required int OutChans { get; init; }

    public int Stages => EmbedDims.Count;

    /// <summary>PatchMerging stride after stage i (i &lt; Stages − 1).</summary>
    public int MergingStride(int i) => StrideOneWidths.Contains(EmbedDims[i + 1]) ? 1 : 2;

    /// <summary>The grid side of stage i's tokens: the image / 4 after the patch embedding, then each merging's stride.</summary>
    public int Resolution(int i)
    {
        int r = ImageSize / 4;
        for (int j = 0; j < i; j++) r /= MergingStride(j);
        return r;
    }

    /// <summary>The input side the last stage's 64×64 grid implies.</summary>
    public int ImageSize => EmbeddingGrid * 4 * Enumerable.Range(0, Stages - 1).Aggregate(1, (p, i) => p * MergingStride(i));

    /// <summary>Whether these keys are MobileSAM's (TinyViT's patch embedding and stages).</summary>
    public static bool Detect(IEnumerable<string> keys) =>
        keys.Any(k => k.StartsWith(Prefix + "patch_embed.seq.", StringComparison.Ordinal) || k.StartsWith(Prefix + "layers.", StringComparison.Ordinal));

    /// <summary>Reads the configuration and checks every encoder tensor's presence and shape (the prompt encoder and decoder are SAM's, checked with them).</summary>
    public static TinyViTConfig Infer(StateDict sd)
    {
        var cfg = new Inference(sd).Run();
        var expected = cfg.ExpectedTensors().ToList();
        var missing = expected.Where(e => !sd.Tensors.ContainsKey(e.Name)).Select(e => $"'{e.Name}'").ToList();
        var misshaped = expected.Where(e => sd.Tensors.TryGetValue(e.Name, out var t) && !t.Shape.SequenceEqual(e.Shape))
            .Select(e => $"'{e.Name}' {SamConfig.Dims(sd.Tensors[e.Name].Shape)} (expected {SamConfig.Dims(e.Shape)})").ToList();
        var names = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var extra = sd.Tensors.Keys.Where(k => k.StartsWith(Prefix, StringComparison.Ordinal) && !names.Contains(k) && !Unused(k))
            .Select(k => $"'{Pth.PthReader.Printable(k)}'").ToList();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add("missing " + List(missing));
        if (extra.Count > 0) problems.Add("unexpected " + List(extra));
        if (misshaped.Count > 0) problems.Add("misshaped " + List(misshaped));
        if (problems.Count > 0)
            throw new CheckpointException(sd.Path, $"not a MobileSAM image encoder for the config its weights imply ({cfg.Summary()}): {string.Join("; ", problems)}");
        return cfg;

        static string List(List<string> items) => string.Join(", ", items.Take(5)) + (items.Count > 5 ? $" (+{items.Count - 5} more)" : "");
    }

    /// <summary>The ImageNet classifier TinyViT keeps (norm_head, head) and BatchNorm's counters: in the checkpoint, never used.</summary>
    internal static bool Unused(string key) =>
        key.StartsWith(Prefix + "norm_head.", StringComparison.Ordinal) || key.StartsWith(Prefix + "head.", StringComparison.Ordinal)
        || key.EndsWith(".bn.num_batches_tracked", StringComparison.Ordinal);

    /// <summary>One line for humans.</summary>
    public string Summary() =>
        $"TinyViT widths [{string.Join(", ", EmbedDims)}], depths [{string.Join(", ", Depths)}], heads [{string.Join(", ", NumHeads.Skip(1))}], " +
        $"windows [{string.Join(", ", WindowSizes.Skip(1))}], MBConv expansion {HiddenDims[0] / (double)EmbedDims[0]:0.##}, MLP ratio {HiddenDims[^1] / (double)EmbedDims[^1]:0.##}, local conv {LocalConvSize}×{LocalConvSize}";

    /// <summary>Every encoder tensor the official checkpoint holds for this configuration (BatchNorm counters aside), in its order.</summary>
    public IEnumerable<(string Name, int[] Shape)> ExpectedTensors()
    {
        int c0 = EmbedDims[0];
        foreach (var x in ConvBn(Prefix + "patch_embed.seq.0", c0 / 2, 3, 3)) yield return x;
        foreach (var x in ConvBn(Prefix + "patch_embed.seq.2", c0, c0 / 2, 3)) yield return x;
        for (int i = 0; i < Stages; i++)
        {
            string l = $"{Prefix}layers.{i}.";
            int c = EmbedDims[i], hidden = HiddenDims[i];
            for (int j = 0; j < Depths[i]; j++)
            {
                string b = $"{l}blocks.{j}.";
                if (i == 0)
                {
                    foreach (var x in ConvBn(b + "conv1", hidden, c, 1)) yield return x;
                    foreach (var x in ConvBn(b + "conv2", hidden, 1, 3)) yield return x;
                    foreach (var x in ConvBn(b + "conv3", c, hidden, 1)) yield return x;
                    continue;
                }
                int ws = WindowSizes[i];
                yield return (b + "attn.attention_biases", [NumHeads[i], ws * ws]);
                yield return (b + "attn.norm.weight", [c]);
                yield return (b + "attn.norm.bias", [c]);
                yield return (b + "attn.qkv.weight", [3 * c, c]);
                yield return (b + "attn.qkv.bias", [3 * c]);
                yield return (b + "attn.proj.weight", [c, c]);
                yield return (b + "attn.proj.bias", [c]);
                yield return (b + "mlp.norm.weight", [c]);
                yield return (b + "mlp.norm.bias", [c]);
                yield return (b + "mlp.fc1.weight", [hidden, c]);
                yield return (b + "mlp.fc1.bias", [hidden]);
                yield return (b + "mlp.fc2.weight", [c, hidden]);
                yield return (b + "mlp.fc2.bias", [c]);
                foreach (var x in ConvBn(b + "local_conv", c, 1, LocalConvSize)) yield return x;
            }
            if (i + 1 < Stages)
            {
                int o = EmbedDims[i + 1];
                foreach (var x in ConvBn(l + "downsample.conv1", o, c, 1)) yield return x;
                foreach (var x in ConvBn(l + "downsample.conv2", o, 1, 3)) yield return x;
                foreach (var x in ConvBn(l + "downsample.conv3", o, o, 1)) yield return x;
            }
        }
        int last = EmbedDims[^1];
        yield return (Prefix + "neck.0.weight", [OutChans, last, 1, 1]);
        yield return (Prefix + "neck.1.weight", [OutChans]);
        yield return (Prefix + "neck.1.bias", [OutChans]);
        yield return (Prefix + "neck.2.weight", [OutChans, OutChans, 3, 3]);
        yield return (Prefix + "neck.3.weight", [OutChans]);
        yield return (Prefix + "neck.3.bias", [OutChans]);
    }

    /// <summary>Conv2d_BN: a convolution without bias (c.weight [out, in/groups, k, k]) and its BatchNorm's four vectors.</summary>
    static IEnumerable<(string, int[])> ConvBn(string n, int outCh, int inPerGroup, int k) =>
    [
        (n + ".c.weight", [outCh, inPerGroup, k, k]),
        (n + ".bn.weight", [outCh]), (n + ".bn.bias", [outCh]), (n + ".bn.running_mean", [outCh]), (n + ".bn.running_var", [outCh]),
    ];

    sealed class Inference(StateDict sd)
    {
        readonly ShapeReader r = new(sd, "not a MobileSAM image encoder");

        public TinyViTConfig Run()
        {
            int stages = r.Count($@"^image_encoder\.layers\.(\d{{1,3}})\.");
            if (stages < 2) throw new CheckpointException(sd.Path, $"not a MobileSAM image encoder: {stages} TinyViT stages (image_encoder.layers.N), at least 2 needed");
            var dims = new int[stages];
            var depths = new int[stages];
            var heads = new int[stages];
            var windows = new int[stages];
            var hidden = new int[stages];
            int localConv = 0;
            for (int i = 0; i < stages; i++)
            {
                string l = $"image_encoder.layers.{i}.";
                depths[i] = r.Count($@"^image_encoder\.layers\.{i}\.blocks\.(\d{{1,4}})\.");
                if (depths[i] == 0) throw new CheckpointException(sd.Path, $"not a MobileSAM image encoder: stage {i} has no blocks");
                if (i == 0)
                {
                    var conv1 = r.Shape(l + "blocks.0.conv1.c.weight", 4);
                    dims[0] = r.Positive(conv1[1], l + "blocks.0.conv1.c.weight");
                    hidden[0] = r.Positive(conv1[0], l + "blocks.0.conv1.c.weight");
                    continue;
                }
                dims[i] = r.Positive(r.Shape(l + "blocks.0.attn.norm.weight", 1)[0], l + "blocks.0.attn.norm.weight");
                var biases = r.Shape(l + "blocks.0.attn.attention_biases", 2);
                heads[i] = r.Positive(biases[0], l + "blocks.0.attn.attention_biases");
                int ws = (int)Math.Round(Math.Sqrt(biases[1]));
                if (ws < 1 || ws * ws != biases[1])
                    throw r.Misshaped(l + "blocks.0.attn.attention_biases", biases, "[heads, window²]: one bias per relative offset of a square window");
                windows[i] = ws;
                if (dims[i] % heads[i] != 0) throw r.Misshaped(l + "blocks.0.attn.attention_biases", biases, $"a head count dividing the width {dims[i]}");
                hidden[i] = r.Positive(r.Shape(l + "blocks.0.mlp.fc1.weight", 2)[0], l + "blocks.0.mlp.fc1.weight");
                localConv = r.Positive(r.Shape(l + "blocks.0.local_conv.c.weight", 4)[2], l + "blocks.0.local_conv.c.weight");
                if (localConv % 2 == 0) throw r.Misshaped(l + "blocks.0.local_conv.c.weight", r.Shape(l + "blocks.0.local_conv.c.weight", 4), "an odd kernel (padding k / 2 keeps the grid)");
            }
            if (dims[0] % 2 != 0) throw r.Misshaped("image_encoder.layers.0.blocks.0.conv1.c.weight", r.Shape("image_encoder.layers.0.blocks.0.conv1.c.weight", 4), "an even width (the patch embedding's first convolution has half of it)");
            var cfg = new TinyViTConfig
            {
                EmbedDims = dims,
                Depths = depths,
                NumHeads = heads,
                WindowSizes = windows,
                HiddenDims = hidden,
                LocalConvSize = localConv,
                OutChans = r.Positive(r.Shape("image_encoder.neck.0.weight", 4)[0], "image_encoder.neck.0.weight"),
            };
            return cfg;
        }
    }
}
