using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tests.Model;

/// <summary>Seeded random encoder state dicts of any (small) configuration, under the official key names.</summary>
internal static class TinyEncoder
{
    /// <summary>Grid 16 (not a multiple of window 5, so windows are padded), three heads, one global block.</summary>
    public static ImageEncoderConfig Config { get; } = new(256, 16, 24, 3, 3, 48, 5, [1], 16);

    public static StateDict StateDict(ImageEncoderConfig cfg, int seed = 0)
    {
        int c = cfg.EmbedDim, g = cfg.GridSize, p = cfg.PatchSize, o = cfg.OutChans, hd = cfg.HeadDim, m = cfg.MlpDim;
        var shapes = new List<(string, int[])>
        {
            ("pos_embed", [1, g, g, c]), ("patch_embed.proj.weight", [c, 3, p, p]), ("patch_embed.proj.bias", [c]),
            ("neck.0.weight", [o, c, 1, 1]), ("neck.1.weight", [o]), ("neck.1.bias", [o]),
            ("neck.2.weight", [o, o, 3, 3]), ("neck.3.weight", [o]), ("neck.3.bias", [o]),
        };
        for (int i = 0; i < cfg.Depth; i++)
        {
            int rel = 2 * (cfg.BlockWindow(i) > 0 ? cfg.BlockWindow(i) : g) - 1;
            string b = $"blocks.{i}.";
            shapes.AddRange([
                (b + "norm1.weight", [c]), (b + "norm1.bias", [c]), (b + "norm2.weight", [c]), (b + "norm2.bias", [c]),
                (b + "attn.rel_pos_h", [rel, hd]), (b + "attn.rel_pos_w", [rel, hd]),
                (b + "attn.qkv.weight", [3 * c, c]), (b + "attn.qkv.bias", [3 * c]),
                (b + "attn.proj.weight", [c, c]), (b + "attn.proj.bias", [c]),
                (b + "mlp.lin1.weight", [m, c]), (b + "mlp.lin1.bias", [m]), (b + "mlp.lin2.weight", [c, m]), (b + "mlp.lin2.bias", [c]),
            ]);
        }
        var rng = new Random(seed);
        var tensors = new Dictionary<string, WeightTensor>();
        foreach (var (name, shape) in shapes)
        {
            int n = shape.Aggregate(1, (a, b) => a * b);
            float scale = shape.Length >= 2 && !name.Contains("rel_pos") && !name.Contains("pos_embed") ? 1f / MathF.Sqrt(n / shape[0]) : 0.5f;
            bool gain = shape.Length == 1 && name.EndsWith(".weight");
            var values = Enumerable.Range(0, n).Select(_ => (gain ? 1 : 0) + scale * (2 * rng.NextSingle() - 1)).ToArray();
            tensors[EncoderWeights.Prefix + name] = new WeightTensor(EncoderWeights.Prefix + name, shape, DType.F32, () => values);
        }
        return new StateDict(tensors);
    }

    public static float[] Image(ImageEncoderConfig cfg, int seed = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 3 * cfg.ImgSize * cfg.ImgSize).Select(_ => 2 * rng.NextSingle() - 1).ToArray();
    }
}
