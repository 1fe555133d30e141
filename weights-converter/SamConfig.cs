using System.Globalization;

namespace SamEngine.Weights;

/// <summary>
/// SAM's hyper-parameters, read off the shapes of a state dict (never assumed from a model name):
/// ViT-B/L/H and any other size come out right, and MobileSAM (a TinyViT image encoder in front of
/// SAM's prompt encoder and mask decoder, <see cref="TinyViT"/>). Names follow the official build_sam.
/// The Encoder* fields, WindowSize, UseAbsPos and QkvBias describe a ViT encoder and are 0/empty for MobileSAM.
/// </summary>
internal sealed record SamConfig
{
    /// <summary>
    /// Heads of the mask decoder's attentions. The only hyper-parameter the weights cannot show
    /// (the projections are the same for any head count); every official model uses 8.
    /// </summary>
    public const int OfficialDecoderHeads = 8;

    /// <summary>MobileSAM's TinyViT image encoder; null for SAM's ViT.</summary>
    public TinyViTConfig? TinyViT { get; init; }
    public int EncoderEmbedDim { get; init; }
    public int EncoderDepth { get; init; }
    public int EncoderNumHeads { get; init; }
    public IReadOnlyList<int> EncoderGlobalAttnIndexes { get; init; } = [];
    /// <summary>Window of the windowed blocks (0 when every block is global).</summary>
    public int WindowSize { get; init; }
    /// <summary>The image's stride onto the embedding grid (ViT: its patch size; MobileSAM: 16 as well).</summary>
    public required int PatchSize { get; init; }
    public required int ImageSize { get; init; }
    public int EncoderMlpDim { get; init; }
    public double MlpRatio => (double)EncoderMlpDim / EncoderEmbedDim;
    public bool UseAbsPos { get; init; }
    public bool QkvBias { get; init; }
    /// <summary>Channels of the neck, i.e. of the image embedding.</summary>
    public required int OutChans { get; init; }
    // The prompt encoder's and mask decoder's sizes (the same for every encoder family): always set by Infer.
    public int PromptEmbedDim { get; init; }
    public int MaskInChans { get; init; }
    public int DecoderDepth { get; init; }
    public int DecoderMlpDim { get; init; }
    public int DecoderHeads { get; init; } = OfficialDecoderHeads;
    /// <summary>How much the cross attentions shrink the embedding dim (internal dim = PromptEmbedDim / this).</summary>
    public int AttentionDownsampleRate { get; init; }
    public int NumMultimaskOutputs { get; init; }
    public int IouHeadDepth { get; init; }
    public int IouHeadHiddenDim { get; init; }

    public int EncoderHeadDim => EncoderNumHeads == 0 ? 0 : EncoderEmbedDim / EncoderNumHeads;
    /// <summary>Side of the image embedding grid (64 for 1024/16).</summary>
    public int ImageEmbeddingSize => ImageSize / PatchSize;
    public int NumMaskTokens => NumMultimaskOutputs + 1;

    /// <summary>
    /// Infers the configuration and checks the state dict against it: every expected tensor
    /// present with its expected shape and nothing else, or a <see cref="CheckpointException"/>
    /// naming the missing, unexpected and misshaped keys.
    /// </summary>
    public static SamConfig Infer(StateDict sd)
    {
        var cfg = new Inference(sd).Run();
        cfg.Validate(sd);
        return cfg;
    }

    /// <summary>Every tensor of the official state dict for this configuration, in the official order.</summary>
    public IEnumerable<(string Name, int[] Shape)> ExpectedTensors() =>
        (TinyViT != null ? TinyViT.ExpectedTensors() : ViTEncoderTensors()).Concat(PromptAndDecoderTensors());

    IEnumerable<(string Name, int[] Shape)> ViTEncoderTensors()
    {
        int c = EncoderEmbedDim, g = ImageEmbeddingSize, hd = EncoderHeadDim, m = EncoderMlpDim, o = OutChans;
        const string E = "image_encoder.";
        if (UseAbsPos) yield return (E + "pos_embed", [1, g, g, c]);
        yield return (E + "patch_embed.proj.weight", [c, 3, PatchSize, PatchSize]);
        yield return (E + "patch_embed.proj.bias", [c]);
        for (int i = 0; i < EncoderDepth; i++)
        {
            string b = $"{E}blocks.{i}.";
            int table = 2 * (EncoderGlobalAttnIndexes.Contains(i) ? g : WindowSize) - 1;
            foreach (var x in Norm(b + "norm1", c)) yield return x;
            yield return (b + "attn.rel_pos_h", [table, hd]);
            yield return (b + "attn.rel_pos_w", [table, hd]);
            yield return (b + "attn.qkv.weight", [3 * c, c]);
            if (QkvBias) yield return (b + "attn.qkv.bias", [3 * c]);
            foreach (var x in Linear(b + "attn.proj", c, c)) yield return x;
            foreach (var x in Norm(b + "norm2", c)) yield return x;
            foreach (var x in Linear(b + "mlp.lin1", c, m)) yield return x;
            foreach (var x in Linear(b + "mlp.lin2", m, c)) yield return x;
        }
        yield return (E + "neck.0.weight", [o, c, 1, 1]);
        foreach (var x in Norm(E + "neck.1", o)) yield return x;
        yield return (E + "neck.2.weight", [o, o, 3, 3]);
        foreach (var x in Norm(E + "neck.3", o)) yield return x;
    }

    IEnumerable<(string Name, int[] Shape)> PromptAndDecoderTensors()
    {
        int d = PromptEmbedDim, mi = MaskInChans;
        const string P = "prompt_encoder.";
        yield return (P + "pe_layer.positional_encoding_gaussian_matrix", [2, d / 2]);
        for (int i = 0; i < 4; i++) yield return ($"{P}point_embeddings.{i}.weight", [1, d]);
        yield return (P + "not_a_point_embed.weight", [1, d]);
        foreach (var x in Conv(P + "mask_downscaling.0", 1, mi / 4, 2)) yield return x;
        foreach (var x in Norm(P + "mask_downscaling.1", mi / 4)) yield return x;
        foreach (var x in Conv(P + "mask_downscaling.3", mi / 4, mi, 2)) yield return x;
        foreach (var x in Norm(P + "mask_downscaling.4", mi)) yield return x;
        foreach (var x in Conv(P + "mask_downscaling.6", mi, d, 1)) yield return x;
        yield return (P + "no_mask_embed.weight", [1, d]);

        int di = d / AttentionDownsampleRate, md = DecoderMlpDim;
        const string T = "mask_decoder.transformer.";
        for (int i = 0; i < DecoderDepth; i++)
        {
            string l = $"{T}layers.{i}.";
            foreach (var x in Attention(l + "self_attn", d, d)) yield return x;
            foreach (var x in Norm(l + "norm1", d)) yield return x;
            foreach (var x in Attention(l + "cross_attn_token_to_image", d, di)) yield return x;
            foreach (var x in Norm(l + "norm2", d)) yield return x;
            foreach (var x in Linear(l + "mlp.lin1", d, md)) yield return x;
            foreach (var x in Linear(l + "mlp.lin2", md, d)) yield return x;
            foreach (var x in Norm(l + "norm3", d)) yield return x;
            foreach (var x in Norm(l + "norm4", d)) yield return x;
            foreach (var x in Attention(l + "cross_attn_image_to_token", d, di)) yield return x;
        }
        foreach (var x in Attention(T + "final_attn_token_to_image", d, di)) yield return x;
        foreach (var x in Norm(T + "norm_final_attn", d)) yield return x;

        const string D = "mask_decoder.";
        yield return (D + "iou_token.weight", [1, d]);
        yield return (D + "mask_tokens.weight", [NumMaskTokens, d]);
        yield return (D + "output_upscaling.0.weight", [d, d / 4, 2, 2]);
        yield return (D + "output_upscaling.0.bias", [d / 4]);
        foreach (var x in Norm(D + "output_upscaling.1", d / 4)) yield return x;
        yield return (D + "output_upscaling.3.weight", [d / 4, d / 8, 2, 2]);
        yield return (D + "output_upscaling.3.bias", [d / 8]);
        for (int t = 0; t < NumMaskTokens; t++)
            foreach (var x in Mlp($"{D}output_hypernetworks_mlps.{t}", [d, d, d, d / 8])) yield return x;
        var iou = new int[IouHeadDepth + 1];
        iou[0] = d;
        for (int i = 1; i < IouHeadDepth; i++) iou[i] = IouHeadHiddenDim;
        iou[IouHeadDepth] = NumMaskTokens;
        foreach (var x in Mlp(D + "iou_prediction_head", iou)) yield return x;
    }

    static IEnumerable<(string, int[])> Norm(string n, int c) => [(n + ".weight", [c]), (n + ".bias", [c])];
    static IEnumerable<(string, int[])> Linear(string n, int inDim, int outDim) => [(n + ".weight", [outDim, inDim]), (n + ".bias", [outDim])];
    static IEnumerable<(string, int[])> Conv(string n, int inCh, int outCh, int k) => [(n + ".weight", [outCh, inCh, k, k]), (n + ".bias", [outCh])];

    static IEnumerable<(string, int[])> Attention(string n, int d, int inner) =>
        Linear(n + ".q_proj", d, inner).Concat(Linear(n + ".k_proj", d, inner)).Concat(Linear(n + ".v_proj", d, inner)).Concat(Linear(n + ".out_proj", inner, d));

    static IEnumerable<(string, int[])> Mlp(string n, int[] dims) =>
        Enumerable.Range(0, dims.Length - 1).SelectMany(i => Linear($"{n}.layers.{i}", dims[i], dims[i + 1]));

    void Validate(StateDict sd)
    {
        var expected = ExpectedTensors().ToList();
        var names = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var missing = expected.Where(e => !sd.Tensors.ContainsKey(e.Name)).Select(e => $"'{e.Name}'").ToList();
        var extra = sd.Tensors.Keys.Where(k => !names.Contains(k) && !(TinyViT != null && TinyViTConfig.Unused(k))).Select(k => $"'{Pth.PthReader.Printable(k)}'").ToList();
        var misshaped = expected.Where(e => sd.Tensors.TryGetValue(e.Name, out var t) && !t.Shape.SequenceEqual(e.Shape))
            .Select(e => $"'{e.Name}' {Dims(sd.Tensors[e.Name].Shape)} (expected {Dims(e.Shape)})").ToList();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add("missing " + List(missing));
        if (extra.Count > 0) problems.Add("unexpected " + List(extra));
        if (misshaped.Count > 0) problems.Add("misshaped " + List(misshaped));
        if (problems.Count > 0)
            throw new CheckpointException(sd.Path, $"not a SAM state dict for the config its weights imply ({Summary()}): {string.Join("; ", problems)}");

        static string List(List<string> items) => string.Join(", ", items.Take(5)) + (items.Count > 5 ? $" (+{items.Count - 5} more)" : "");
    }

    internal static string Dims(int[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>One line for humans: "ViT width 256, depth 4, 4 heads, global blocks 1, 3, window 14".</summary>
    public string Summary() => TinyViT != null ? "MobileSAM, " + TinyViT.Summary() :
        $"ViT width {EncoderEmbedDim}, depth {EncoderDepth}, {EncoderNumHeads} heads, global blocks {Indexes()}, window {WindowSize}";

    string Indexes() => EncoderGlobalAttnIndexes.Count == 0 ? "none" : string.Join(", ", EncoderGlobalAttnIndexes);

    /// <summary>The configuration as safetensors metadata (string values; names as in build_sam / config.json).</summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        static string S(double v) => v.ToString(CultureInfo.InvariantCulture);
        static string L(IEnumerable<int> v) => "[" + string.Join(", ", v) + "]";
        var decoder = new Dictionary<string, string>
        {
            ["out_chans"] = S(OutChans),
            ["prompt_embed_dim"] = S(PromptEmbedDim),
            ["mask_in_chans"] = S(MaskInChans),
            ["decoder_depth"] = S(DecoderDepth),
            ["decoder_mlp_dim"] = S(DecoderMlpDim),
            ["decoder_heads"] = S(DecoderHeads),
            ["attention_downsample_rate"] = S(AttentionDownsampleRate),
            ["num_multimask_outputs"] = S(NumMultimaskOutputs),
            ["iou_head_depth"] = S(IouHeadDepth),
            ["iou_head_hidden_dim"] = S(IouHeadHiddenDim),
        };
        if (TinyViT is { } t)
            return new Dictionary<string, string>
            {
                ["encoder"] = "tiny_vit",
                ["img_size"] = S(ImageSize),
                ["embed_dims"] = L(t.EmbedDims),
                ["depths"] = L(t.Depths),
                ["num_heads"] = L(t.NumHeads.Skip(1)),
                ["window_sizes"] = L(t.WindowSizes.Skip(1)),
                ["mbconv_expand_ratio"] = S(t.HiddenDims[0] / (double)t.EmbedDims[0]),
                ["mlp_ratio"] = S(t.HiddenDims[^1] / (double)t.EmbedDims[^1]),
                ["local_conv_size"] = S(t.LocalConvSize),
            }.Concat(decoder).ToDictionary();
        return new Dictionary<string, string>
        {
            ["embed_dim"] = S(EncoderEmbedDim),
            ["depth"] = S(EncoderDepth),
            ["num_heads"] = S(EncoderNumHeads),
            ["global_attn_indexes"] = L(EncoderGlobalAttnIndexes),
            ["img_size"] = S(ImageSize),
            ["patch_size"] = S(PatchSize),
            ["window_size"] = S(WindowSize),
            ["mlp_dim"] = S(EncoderMlpDim),
            ["mlp_ratio"] = S(MlpRatio),
            ["use_abs_pos"] = UseAbsPos ? "true" : "false",
            ["qkv_bias"] = QkvBias ? "true" : "false",
        }.Concat(decoder).ToDictionary();
    }

    /// <summary>The reading of shapes, with an error naming the tensor whenever one does not fit.</summary>
    sealed class Inference(StateDict sd)
    {
        readonly ShapeReader r = new(sd, "not a SAM state dict");

        public SamConfig Run()
        {
            // MobileSAM keeps SAM's prompt encoder and mask decoder behind a TinyViT encoder.
            if (TinyViTConfig.Detect(sd.Tensors.Keys))
            {
                var tiny = TinyViTConfig.Infer(sd);
                return Decoder(new SamConfig
                {
                    TinyViT = tiny,
                    PatchSize = tiny.ImageSize / TinyViTConfig.EmbeddingGrid,
                    ImageSize = tiny.ImageSize,
                    OutChans = tiny.OutChans,
                });
            }
            var pe = r.Shape("image_encoder.patch_embed.proj.weight", 4);
            int c = r.Positive(pe[0], "image_encoder.patch_embed.proj.weight"), patch = r.Positive(pe[3], "image_encoder.patch_embed.proj.weight");
            if (pe[1] != 3 || pe[2] != pe[3]) throw r.Misshaped("image_encoder.patch_embed.proj.weight", pe, "[C, 3, P, P]");

            int depth = r.Count(@"^image_encoder\.blocks\.(\d{1,4})\.");
            if (depth == 0) throw new CheckpointException(sd.Path, "not a SAM state dict: no image_encoder.blocks.N tensors");

            // Relative-position tables: 2·S−1 rows for a block attending over S positions per axis,
            // head-dim columns. Global blocks span the whole grid, windowed ones their window.
            var tables = Enumerable.Range(0, depth).Select(i => r.Shape($"image_encoder.blocks.{i}.attn.rel_pos_h", 2)).ToList();
            int headDim = r.Positive(tables[0][1], "image_encoder.blocks.0.attn.rel_pos_h");
            if (c % headDim != 0) throw r.Misshaped("image_encoder.blocks.0.attn.rel_pos_h", tables[0], $"a head dim dividing the width {c}");
            bool absPos = sd.Tensors.ContainsKey("image_encoder.pos_embed");
            int grid;
            if (absPos)
            {
                var pos = r.Shape("image_encoder.pos_embed", 4);
                if (pos[0] != 1 || pos[1] != pos[2] || pos[3] != c) throw r.Misshaped("image_encoder.pos_embed", pos, $"[1, G, G, {c}]");
                grid = r.Positive(pos[1], "image_encoder.pos_embed");
            }
            else grid = (tables.Max(t => t[0]) + 1) / 2; // without a position embedding, the widest table is a global block's
            var global = new List<int>();
            int window = 0;
            for (int i = 0; i < depth; i++)
            {
                int rows = tables[i][0];
                if (rows == 2 * grid - 1) { global.Add(i); continue; }
                string name = $"image_encoder.blocks.{i}.attn.rel_pos_h";
                if (rows % 2 == 0 || rows <= 0) throw r.Misshaped(name, tables[i], "an odd number of rows (2·window−1)");
                if (window != 0 && (rows + 1) / 2 != window)
                    throw new CheckpointException(sd.Path, $"windowed blocks disagree on the window size: '{name}' {Dims(tables[i])} implies {(rows + 1) / 2}, earlier blocks {window}");
                window = (rows + 1) / 2;
            }

            return Decoder(new SamConfig
            {
                EncoderEmbedDim = c,
                EncoderDepth = depth,
                EncoderNumHeads = c / headDim,
                EncoderGlobalAttnIndexes = global,
                WindowSize = window,
                PatchSize = patch,
                ImageSize = grid * patch,
                EncoderMlpDim = r.Positive(r.Shape("image_encoder.blocks.0.mlp.lin1.weight", 2)[0], "image_encoder.blocks.0.mlp.lin1.weight"),
                UseAbsPos = absPos,
                QkvBias = sd.Tensors.ContainsKey("image_encoder.blocks.0.attn.qkv.bias"),
                OutChans = r.Positive(r.Shape("image_encoder.neck.0.weight", 4)[0], "image_encoder.neck.0.weight"),
            });
        }

        /// <summary>The prompt encoder's and mask decoder's sizes, the same for every encoder family.</summary>
        SamConfig Decoder(SamConfig encoder)
        {
            int d = r.Positive(r.Shape("prompt_encoder.no_mask_embed.weight", 2)[1], "prompt_encoder.no_mask_embed.weight");
            int inner = r.Positive(r.Shape("mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight", 2)[0],
                "mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight");
            if (d % inner != 0 || inner % OfficialDecoderHeads != 0 || d % 8 != 0)
                throw new CheckpointException(sd.Path, $"the mask decoder's dims (embedding {d}, attention {inner}) do not fit {OfficialDecoderHeads} heads");
            int tokens = r.Positive(r.Shape("mask_decoder.mask_tokens.weight", 2)[0], "mask_decoder.mask_tokens.weight");

            return encoder with
            {
                PromptEmbedDim = d,
                MaskInChans = r.Positive(r.Shape("prompt_encoder.mask_downscaling.3.weight", 4)[0], "prompt_encoder.mask_downscaling.3.weight"),
                DecoderDepth = r.Count(@"^mask_decoder\.transformer\.layers\.(\d{1,4})\."),
                DecoderMlpDim = r.Positive(r.Shape("mask_decoder.transformer.layers.0.mlp.lin1.weight", 2)[0], "mask_decoder.transformer.layers.0.mlp.lin1.weight"),
                AttentionDownsampleRate = d / inner,
                NumMultimaskOutputs = tokens - 1,
                IouHeadDepth = r.Count(@"^mask_decoder\.iou_prediction_head\.layers\.(\d{1,4})\."),
                IouHeadHiddenDim = r.Positive(r.Shape("mask_decoder.iou_prediction_head.layers.0.weight", 2)[0], "mask_decoder.iou_prediction_head.layers.0.weight"),
            };
        }
    }
}
