using SamEngine.Engine;

namespace SamEngine.Kernels.Check;

/// <summary>Seeded inputs for checks: float32 values, with their exact float64 copies for references.</summary>
internal static class CheckData
{
    public static float[] Uniform(int seed, long count, float low = -1, float high = 1)
    {
        var rng = new Random(seed);
        var data = new float[count];
        for (long i = 0; i < count; i++) data[i] = low + (high - low) * rng.NextSingle();
        return data;
    }

    public static double[] Widen(ReadOnlySpan<float> values)
    {
        var d = new double[values.Length];
        for (int i = 0; i < values.Length; i++) d[i] = values[i];
        return d;
    }

    public static Tensor Upload(Device device, float[] data, params int[] shape) => Tensor.FromArray(device, data, shape);

    /// <summary>An output tensor full of NaN: an element the kernel forgets to write fails the check.</summary>
    public static Tensor Poisoned(Device device, params int[] shape)
    {
        var t = Tensor.Empty(device, shape);
        t.Fill(float.NaN);
        return t;
    }
}
