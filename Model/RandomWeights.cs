using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// A seeded random-weight SAM of an official architecture, for demos and benchmarks without a
/// checkpoint: its masks are meaningless, its timings are the real model's. Values are drawn
/// lazily per tensor (from the seed and the tensor's name), so even ViT-H costs no memory until
/// the weights are uploaded.
/// </summary>
internal static class RandomWeights
{
    public static StateDict Create(SamArchitecture arch, int seed = 0)
    {
        var tensors = new Dictionary<string, WeightTensor>();
        foreach (var (name, shape) in arch.StateDictShapes())
            tensors[name] = new WeightTensor(name, shape, DType.F32, () => Draw(name, shape, seed));
        return new StateDict(tensors);
    }

    static float[] Draw(string name, int[] shape, int seed)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        // Not HashCode.Combine: .NET randomises it per process, and the weights must be the same in every run.
        var rng = new Random(unchecked(seed * 16777619 ^ StableHash(name)));
        // Scales of a trained model's typical ranges, so activations stay finite and non-trivial:
        // PyTorch's default fan-in init for projections, unit norm gains and BatchNorm variances, small
        // biases and BatchNorm means.
        bool isNormGain = name.EndsWith(".weight") && shape.Length == 1 || name.EndsWith(".running_var");
        float scale = shape.Length >= 2 && !name.Contains("embed") && !name.Contains("rel_pos")
            ? 1f / MathF.Sqrt(shape.Skip(1).Aggregate(1, (a, b) => a * b))
            : name.Contains("rel_pos") || name.EndsWith("pos_embed") ? 0.02f
            : name.EndsWith(".bias") || name.EndsWith(".running_mean") ? 0.02f
            : 1f;
        for (long i = 0; i < n; i++)
        {
            float u = 2 * rng.NextSingle() - 1;
            values[i] = isNormGain ? 1 + 0.1f * u : scale * u;
        }
        return values;
    }

    static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char ch in s) h = (h ^ ch) * 16777619;
            return h;
        }
    }
}
