using System.Text.RegularExpressions;

namespace SamEngine.Weights;

/// <summary>
/// Maps Hugging Face transformers' SamModel names (facebook/sam-vit-base and friends) onto the
/// official segment-anything state-dict names. Hugging Face renamed modules, not tensors, so the
/// mapping is a list of path rewrites:
/// <code>
/// vision_encoder.                            → image_encoder.
///   patch_embed.projection                   →   patch_embed.proj
///   layers.N.layer_norm1/2                   →   blocks.N.norm1/2   (attn.*, mlp.* unchanged)
///   neck.conv1, layer_norm1, conv2, layer_norm2 → neck.0, neck.1, neck.2, neck.3
/// prompt_encoder.shared_embedding.positional_embedding
///   (or shared_image_embedding.positional_embedding, its tied twin)
///                                            → prompt_encoder.pe_layer.positional_encoding_gaussian_matrix
/// prompt_encoder.point_embed.N                → prompt_encoder.point_embeddings.N
/// prompt_encoder.mask_embed.conv1, layer_norm1, conv2, layer_norm2, conv3
///                                            → prompt_encoder.mask_downscaling.0, 1, 3, 4, 6
/// mask_decoder.transformer.layers.N.layer_normK → ….normK;  transformer.layer_norm_final_attn → norm_final_attn
/// mask_decoder.upscale_conv1, upscale_layer_norm, upscale_conv2 → output_upscaling.0, 1, 3
/// mask_decoder.{output_hypernetworks_mlps.N, iou_prediction_head}.proj_in, layers.J, proj_out
///                                            → ….layers.0, layers.J+1, layers.(depth−1)
/// </code>
/// Everything else (attention projections, tokens, embeddings) keeps its name. A name no rule
/// knows passes through unchanged, so state-dict validation reports it as unexpected.
/// </summary>
internal static class HuggingFaceNames
{
    const string Gaussian = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix";

    static readonly (Regex Pattern, string Replacement)[] Rules =
    [
        (new(@"^vision_encoder\.patch_embed\.projection\.(weight|bias)$"), "image_encoder.patch_embed.proj.$1"),
        (new(@"^vision_encoder\.pos_embed$"), "image_encoder.pos_embed"),
        (new(@"^vision_encoder\.layers\.(\d+)\.layer_norm([12])\.(weight|bias)$"), "image_encoder.blocks.$1.norm$2.$3"),
        (new(@"^vision_encoder\.layers\.(\d+)\.(attn|mlp)\.(\w+(?:\.\w+)?)$"), "image_encoder.blocks.$1.$2.$3"),
        (new(@"^vision_encoder\.neck\.conv1\.weight$"), "image_encoder.neck.0.weight"),
        (new(@"^vision_encoder\.neck\.layer_norm1\.(weight|bias)$"), "image_encoder.neck.1.$1"),
        (new(@"^vision_encoder\.neck\.conv2\.weight$"), "image_encoder.neck.2.weight"),
        (new(@"^vision_encoder\.neck\.layer_norm2\.(weight|bias)$"), "image_encoder.neck.3.$1"),
        (new(@"^(?:prompt_encoder\.shared_embedding|shared_image_embedding)\.positional_embedding$"), Gaussian),
        (new(@"^prompt_encoder\.point_embed\.(\d+)\.weight$"), "prompt_encoder.point_embeddings.$1.weight"),
        (new(@"^prompt_encoder\.mask_embed\.conv1\.(weight|bias)$"), "prompt_encoder.mask_downscaling.0.$1"),
        (new(@"^prompt_encoder\.mask_embed\.layer_norm1\.(weight|bias)$"), "prompt_encoder.mask_downscaling.1.$1"),
        (new(@"^prompt_encoder\.mask_embed\.conv2\.(weight|bias)$"), "prompt_encoder.mask_downscaling.3.$1"),
        (new(@"^prompt_encoder\.mask_embed\.layer_norm2\.(weight|bias)$"), "prompt_encoder.mask_downscaling.4.$1"),
        (new(@"^prompt_encoder\.mask_embed\.conv3\.(weight|bias)$"), "prompt_encoder.mask_downscaling.6.$1"),
        (new(@"^mask_decoder\.transformer\.layers\.(\d+)\.layer_norm([1-4])\.(weight|bias)$"), "mask_decoder.transformer.layers.$1.norm$2.$3"),
        (new(@"^mask_decoder\.transformer\.layer_norm_final_attn\.(weight|bias)$"), "mask_decoder.transformer.norm_final_attn.$1"),
        (new(@"^mask_decoder\.upscale_conv1\.(weight|bias)$"), "mask_decoder.output_upscaling.0.$1"),
        (new(@"^mask_decoder\.upscale_layer_norm\.(weight|bias)$"), "mask_decoder.output_upscaling.1.$1"),
        (new(@"^mask_decoder\.upscale_conv2\.(weight|bias)$"), "mask_decoder.output_upscaling.3.$1"),
    ];

    // proj_in, layers.J, proj_out of one of the decoder's MLPs; its depth comes from the file.
    static readonly Regex Mlp = new(@"^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.(proj_in|proj_out|layers\.(\d{1,6}))\.(weight|bias)$");

    /// <summary>Whether these names are Hugging Face's (a vision_encoder or its shared embeddings).</summary>
    public static bool Detect(IEnumerable<string> names) => names.Any(n =>
        n.StartsWith("vision_encoder.", StringComparison.Ordinal) || n.StartsWith("shared_image_embedding.", StringComparison.Ordinal)
        || n.StartsWith("prompt_encoder.shared_embedding.", StringComparison.Ordinal));

    /// <summary>
    /// The official name of each Hugging Face name, in order; null for the tied copy of the
    /// positional-encoding matrix when both copies are present (one is kept).
    /// </summary>
    public static IReadOnlyList<string?> ToOfficial(IReadOnlyList<string> names)
    {
        // Each MLP's middle layers are numbered from 0 after proj_in; its depth is their count + 2.
        var middle = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in names)
        {
            var m = Mlp.Match(n);
            if (!m.Success) continue;
            middle.TryAdd(m.Groups[1].Value, 0);
            if (m.Groups[3].Success) middle[m.Groups[1].Value] = Math.Max(middle[m.Groups[1].Value], int.Parse(m.Groups[3].Value) + 1);
        }

        bool bothGaussians = names.Contains("prompt_encoder.shared_embedding.positional_embedding") && names.Contains("shared_image_embedding.positional_embedding");
        var result = new string?[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            var n = names[i];
            if (bothGaussians && n == "shared_image_embedding.positional_embedding") continue;
            var m = Mlp.Match(n);
            if (m.Success)
            {
                string mlp = m.Groups[1].Value, part = m.Groups[2].Value;
                int layer = part == "proj_in" ? 0 : part == "proj_out" ? middle[mlp] + 1 : int.Parse(m.Groups[3].Value) + 1;
                result[i] = $"{mlp}.layers.{layer}.{m.Groups[4].Value}";
                continue;
            }
            result[i] = n;
            foreach (var (pattern, replacement) in Rules)
            {
                if (!pattern.IsMatch(n)) continue;
                result[i] = pattern.Replace(n, replacement);
                break;
            }
        }
        return result;
    }
}
