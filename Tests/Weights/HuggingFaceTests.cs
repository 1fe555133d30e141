using System.Text.RegularExpressions;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Tests.Weights;

/// <summary>
/// Hugging Face SamModel checkpoints (facebook/sam-vit-*): a file with their names, built here by
/// renaming the fixture's tensors, must load as the official state dict, bit for bit.
/// </summary>
public class HuggingFaceTests
{
    // Official → Hugging Face, written from the transformers SamModel module layout.
    static readonly (string Pattern, string Replacement)[] ToHf =
    [
        (@"^image_encoder\.patch_embed\.proj\.", "vision_encoder.patch_embed.projection."),
        (@"^image_encoder\.pos_embed$", "vision_encoder.pos_embed"),
        (@"^image_encoder\.blocks\.(\d+)\.norm(\d)\.", "vision_encoder.layers.$1.layer_norm$2."),
        (@"^image_encoder\.blocks\.", "vision_encoder.layers."),
        (@"^image_encoder\.neck\.0\.", "vision_encoder.neck.conv1."),
        (@"^image_encoder\.neck\.1\.", "vision_encoder.neck.layer_norm1."),
        (@"^image_encoder\.neck\.2\.", "vision_encoder.neck.conv2."),
        (@"^image_encoder\.neck\.3\.", "vision_encoder.neck.layer_norm2."),
        (@"^prompt_encoder\.pe_layer\.positional_encoding_gaussian_matrix$", "prompt_encoder.shared_embedding.positional_embedding"),
        (@"^prompt_encoder\.point_embeddings\.", "prompt_encoder.point_embed."),
        (@"^prompt_encoder\.mask_downscaling\.0\.", "prompt_encoder.mask_embed.conv1."),
        (@"^prompt_encoder\.mask_downscaling\.1\.", "prompt_encoder.mask_embed.layer_norm1."),
        (@"^prompt_encoder\.mask_downscaling\.3\.", "prompt_encoder.mask_embed.conv2."),
        (@"^prompt_encoder\.mask_downscaling\.4\.", "prompt_encoder.mask_embed.layer_norm2."),
        (@"^prompt_encoder\.mask_downscaling\.6\.", "prompt_encoder.mask_embed.conv3."),
        (@"^(mask_decoder\.transformer\.layers\.\d+)\.norm(\d)\.", "$1.layer_norm$2."),
        (@"^mask_decoder\.transformer\.norm_final_attn\.", "mask_decoder.transformer.layer_norm_final_attn."),
        (@"^mask_decoder\.output_upscaling\.0\.", "mask_decoder.upscale_conv1."),
        (@"^mask_decoder\.output_upscaling\.1\.", "mask_decoder.upscale_layer_norm."),
        (@"^mask_decoder\.output_upscaling\.3\.", "mask_decoder.upscale_conv2."),
        (@"^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.0\.", "$1.proj_in."),
        (@"^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.1\.", "$1.layers.0."),
        (@"^(mask_decoder\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.2\.", "$1.proj_out."),
    ];

    static string HfName(string official)
    {
        foreach (var (p, r) in ToHf)
            if (Regex.IsMatch(official, p)) return Regex.Replace(official, p, r);
        return official;
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void HuggingFaceNamedSafetensorsLoadAsTheOfficialStateDict(bool bothTiedCopies)
    {
        var expected = FixtureTensors.Load(Fixtures.Require("sam-mini/tensors.json"));
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        var hf = new List<WeightTensor>();
        foreach (var t in sd.Tensors.Values.Reverse())
        {
            string name = HfName(t.Name);
            if (name.StartsWith("prompt_encoder.shared_embedding") && !bothTiedCopies) name = "shared_image_embedding.positional_embedding";
            hf.Add(new WeightTensor(name, t.Shape, t.DType, t.ToFloat32));
            if (name.StartsWith("prompt_encoder.shared_embedding"))
                hf.Add(new WeightTensor("shared_image_embedding.positional_embedding", t.Shape, t.DType, t.ToFloat32));
        }
        Assert.Contains(hf, t => t.Name == "vision_encoder.layers.3.attn.qkv.weight");
        Assert.Contains(hf, t => t.Name == "mask_decoder.output_hypernetworks_mlps.2.proj_out.bias");
        Assert.DoesNotContain(hf, t => t.Name.StartsWith("image_encoder"));

        using var tmp = new TempFolder();
        SafetensorsWriter.Write(tmp.File("model.safetensors"), hf, new Dictionary<string, string> { ["format"] = "pt" });
        using var back = StateDict.Load(tmp.File("model.safetensors"));
        Assert.True(back.UsesHuggingFaceNames);
        Assert.Equal(expected.Keys.Order(), back.Tensors.Keys.Order());
        foreach (var (name, e) in expected)
            Assert.True(e.Sha256 == FixtureTensors.Sha256(back[name].ToBytes()), $"{name}: sha256 differs after the Hugging Face round trip");
        var c = SamConfig.Infer(back);
        Assert.Equal([1, 3], c.EncoderGlobalAttnIndexes);
        Assert.Equal(3, c.IouHeadDepth);
    }

    [Theory]
    [InlineData("vision_encoder.patch_embed.projection.weight", "image_encoder.patch_embed.proj.weight")]
    [InlineData("vision_encoder.layers.11.layer_norm2.bias", "image_encoder.blocks.11.norm2.bias")]
    [InlineData("vision_encoder.layers.0.attn.rel_pos_h", "image_encoder.blocks.0.attn.rel_pos_h")]
    [InlineData("vision_encoder.layers.7.mlp.lin2.weight", "image_encoder.blocks.7.mlp.lin2.weight")]
    [InlineData("vision_encoder.neck.layer_norm2.weight", "image_encoder.neck.3.weight")]
    [InlineData("prompt_encoder.shared_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")]
    [InlineData("prompt_encoder.mask_embed.conv3.bias", "prompt_encoder.mask_downscaling.6.bias")]
    [InlineData("prompt_encoder.point_embed.3.weight", "prompt_encoder.point_embeddings.3.weight")]
    [InlineData("mask_decoder.transformer.layers.1.layer_norm4.weight", "mask_decoder.transformer.layers.1.norm4.weight")]
    [InlineData("mask_decoder.transformer.layer_norm_final_attn.bias", "mask_decoder.transformer.norm_final_attn.bias")]
    [InlineData("mask_decoder.upscale_layer_norm.weight", "mask_decoder.output_upscaling.1.weight")]
    [InlineData("mask_decoder.iou_prediction_head.proj_in.weight", "mask_decoder.iou_prediction_head.layers.0.weight")]
    [InlineData("mask_decoder.iou_prediction_head.layers.0.bias", "mask_decoder.iou_prediction_head.layers.1.bias")]
    [InlineData("mask_decoder.iou_prediction_head.proj_out.weight", "mask_decoder.iou_prediction_head.layers.2.weight")]
    [InlineData("mask_decoder.transformer.layers.0.cross_attn_image_to_token.v_proj.bias", "mask_decoder.transformer.layers.0.cross_attn_image_to_token.v_proj.bias")]
    [InlineData("something.else", "something.else")]
    public void NamesMapAsDocumented(string hf, string official)
    {
        // A ViT-B-like name set, so the decoder MLPs have their official depth of 3.
        string[] names = [hf, "vision_encoder.pos_embed", "mask_decoder.iou_prediction_head.proj_in.bias",
            "mask_decoder.iou_prediction_head.layers.0.weight", "mask_decoder.iou_prediction_head.proj_out.bias"];
        Assert.True(HuggingFaceNames.Detect(names));
        Assert.Equal(official, HuggingFaceNames.ToOfficial(names)[0]);
        Assert.False(HuggingFaceNames.Detect(["image_encoder.pos_embed", "mask_decoder.iou_token.weight"]));
    }
}
