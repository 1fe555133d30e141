using SamEngine.Engine;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// The official image-encoder sizes (build_sam.py's vit_b/l/h, and MobileSAM's vit_t as
/// mobile_sam). Used only to make random-weight models for demos and benchmarks: a real
/// checkpoint's size is always read from its weights. The prompt encoder and mask decoder are the
/// same for every size.
/// </summary>
internal sealed record SamArchitecture(string Name, int EmbedDim, int Depth, int NumHeads, int[] GlobalAttnIndexes, int ImageSize = 1024)
{
    /// <summary>MobileSAM's TinyViT encoder (the ViT sizes above are then unused).</summary>
    public TinyViTConfig? TinyViT { get; init; }

    public const int PatchSize = 16, WindowSize = 14, OutChans = 256, MlpRatio = 4;

    public static SamArchitecture VitB { get; } = new("vit_b", 768, 12, 12, [2, 5, 8, 11]);
    public static SamArchitecture VitL { get; } = new("vit_l", 1024, 24, 16, [5, 11, 17, 23]);
    public static SamArchitecture VitH { get; } = new("vit_h", 1280, 32, 16, [7, 15, 23, 31]);
    /// <summary>
    /// Not official: the reference fixtures' encoder (sam-mini: width 256, depth 4, 4 heads) on a
    /// 256² image, so that a whole bench, decoder batches included, runs in seconds.
    /// </summary>
    public static SamArchitecture Mini { get; } = new("mini", 256, 4, 4, [1, 3], ImageSize: 256);
    /// <summary>MobileSAM's official encoder, build_sam_vit_t: TinyViT-5M with SAM's neck.</summary>
    public static SamArchitecture MobileSam { get; } = new("mobile_sam", 0, 0, 0, [])
    {
        TinyViT = new TinyViTConfig
        {
            EmbedDims = [64, 128, 160, 320], Depths = [2, 2, 6, 2], NumHeads = [0, 4, 5, 10], WindowSizes = [0, 7, 14, 7],
            HiddenDims = [256, 512, 640, 1280], LocalConvSize = 3, OutChans = OutChans,
        },
    };

    public static SamArchitecture Parse(string name) => name.ToLowerInvariant().Replace('-', '_') switch
    {
        "vit_b" => VitB,
        "vit_l" => VitL,
        "vit_h" => VitH,
        "mini" => Mini,
        "mobile_sam" or "vit_t" => MobileSam,
        _ => throw new SamException($"unknown architecture '{name}': choose vit_b, vit_l, vit_h, mobile_sam or mini"),
    };

    /// <summary>Every tensor of the official state dict for this size, with its shape, in checkpoint order.</summary>
    public IEnumerable<(string Name, int[] Shape)> StateDictShapes() =>
        (TinyViT != null ? TinyViT.ExpectedTensors() : ViTShapes()).Concat(PromptAndDecoderShapes());

    IEnumerable<(string Name, int[] Shape)> ViTShapes()
    {
        int c = EmbedDim, grid = ImageSize / PatchSize, headDim = EmbedDim / NumHeads;
        yield return ("image_encoder.pos_embed", [1, grid, grid, c]);
        yield return ("image_encoder.patch_embed.proj.weight", [c, 3, PatchSize, PatchSize]);
        yield return ("image_encoder.patch_embed.proj.bias", [c]);
        for (int i = 0; i < Depth; i++)
        {
            string p = $"image_encoder.blocks.{i}.";
            int relLen = 2 * (GlobalAttnIndexes.Contains(i) ? grid : WindowSize) - 1;
            yield return (p + "norm1.weight", [c]);
            yield return (p + "norm1.bias", [c]);
            yield return (p + "attn.rel_pos_h", [relLen, headDim]);
            yield return (p + "attn.rel_pos_w", [relLen, headDim]);
            yield return (p + "attn.qkv.weight", [3 * c, c]);
            yield return (p + "attn.qkv.bias", [3 * c]);
            yield return (p + "attn.proj.weight", [c, c]);
            yield return (p + "attn.proj.bias", [c]);
            yield return (p + "norm2.weight", [c]);
            yield return (p + "norm2.bias", [c]);
            yield return (p + "mlp.lin1.weight", [MlpRatio * c, c]);
            yield return (p + "mlp.lin1.bias", [MlpRatio * c]);
            yield return (p + "mlp.lin2.weight", [c, MlpRatio * c]);
            yield return (p + "mlp.lin2.bias", [c]);
        }
        yield return ("image_encoder.neck.0.weight", [OutChans, c, 1, 1]);
        yield return ("image_encoder.neck.1.weight", [OutChans]);
        yield return ("image_encoder.neck.1.bias", [OutChans]);
        yield return ("image_encoder.neck.2.weight", [OutChans, OutChans, 3, 3]);
        yield return ("image_encoder.neck.3.weight", [OutChans]);
        yield return ("image_encoder.neck.3.bias", [OutChans]);
    }

    static IEnumerable<(string, int[])> PromptAndDecoderShapes()
    {
        const int d = OutChans, half = d / 2, mlp = 2048, tokens = 4, upscale = d / 8;
        yield return ("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", [2, half]);
        for (int i = 0; i < 4; i++) yield return ($"prompt_encoder.point_embeddings.{i}.weight", [1, d]);
        yield return ("prompt_encoder.not_a_point_embed.weight", [1, d]);
        foreach (var (layer, shape) in new (int, int[])[] { (0, [4, 1, 2, 2]), (1, [4]), (3, [16, 4, 2, 2]), (4, [16]), (6, [d, 16, 1, 1]) })
        {
            yield return ($"prompt_encoder.mask_downscaling.{layer}.weight", shape);
            yield return ($"prompt_encoder.mask_downscaling.{layer}.bias", [shape[0]]);
        }
        yield return ("prompt_encoder.no_mask_embed.weight", [1, d]);
        IEnumerable<(string, int[])> Attention(string p, int inner)
        {
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj" })
            {
                yield return ($"{p}.{proj}.weight", [inner, d]);
                yield return ($"{p}.{proj}.bias", [inner]);
            }
            yield return ($"{p}.out_proj.weight", [d, inner]);
            yield return ($"{p}.out_proj.bias", [d]);
        }
        IEnumerable<(string, int[])> Norm(string p) => [($"{p}.weight", [d]), ($"{p}.bias", [d])];
        for (int i = 0; i < 2; i++)
        {
            string p = $"mask_decoder.transformer.layers.{i}";
            foreach (var t in Attention(p + ".self_attn", d)) yield return t;
            foreach (var t in Norm(p + ".norm1")) yield return t;
            foreach (var t in Attention(p + ".cross_attn_token_to_image", half)) yield return t;
            foreach (var t in Norm(p + ".norm2")) yield return t;
            yield return (p + ".mlp.lin1.weight", [mlp, d]);
            yield return (p + ".mlp.lin1.bias", [mlp]);
            yield return (p + ".mlp.lin2.weight", [d, mlp]);
            yield return (p + ".mlp.lin2.bias", [d]);
            foreach (var t in Norm(p + ".norm3")) yield return t;
            foreach (var t in Norm(p + ".norm4")) yield return t;
            foreach (var t in Attention(p + ".cross_attn_image_to_token", half)) yield return t;
        }
        foreach (var t in Attention("mask_decoder.transformer.final_attn_token_to_image", half)) yield return t;
        foreach (var t in Norm("mask_decoder.transformer.norm_final_attn")) yield return t;
        yield return ("mask_decoder.iou_token.weight", [1, d]);
        yield return ("mask_decoder.mask_tokens.weight", [tokens, d]);
        yield return ("mask_decoder.output_upscaling.0.weight", [d, d / 4, 2, 2]);
        yield return ("mask_decoder.output_upscaling.0.bias", [d / 4]);
        yield return ("mask_decoder.output_upscaling.1.weight", [d / 4]);
        yield return ("mask_decoder.output_upscaling.1.bias", [d / 4]);
        yield return ("mask_decoder.output_upscaling.3.weight", [d / 4, upscale, 2, 2]);
        yield return ("mask_decoder.output_upscaling.3.bias", [upscale]);
        for (int m = 0; m < tokens; m++)
            foreach (var t in Mlp($"mask_decoder.output_hypernetworks_mlps.{m}", upscale)) yield return t;
        foreach (var t in Mlp("mask_decoder.iou_prediction_head", tokens)) yield return t;

        static IEnumerable<(string, int[])> Mlp(string p, int outDim)
        {
            yield return ($"{p}.layers.0.weight", [d, d]);
            yield return ($"{p}.layers.0.bias", [d]);
            yield return ($"{p}.layers.1.weight", [d, d]);
            yield return ($"{p}.layers.1.bias", [d]);
            yield return ($"{p}.layers.2.weight", [outDim, d]);
            yield return ($"{p}.layers.2.bias", [outDim]);
        }
    }
}
