using SamEngine.Engine;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Tests.Model;

/// <summary>The encoder's memory behaviour and weight validation, on a small random model.</summary>
public class EncoderTests
{
    static readonly ImageEncoderConfig Cfg = TinyEncoder.Config;

    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void SecondForwardAllocatesNothing(string deviceName)
    {
        var device = Devices.Open(deviceName);
        using var weights = EncoderWeights.Load(TinyEncoder.StateDict(Cfg), Cfg, device);
        var encoder = new ImageEncoderViT(weights);
        using var image = Tensor.FromArray(device, TinyEncoder.Image(Cfg), 1, 3, Cfg.ImgSize, Cfg.ImgSize);
        using (encoder.Forward(image)) { }
        long before = device.Pool.Allocations;
        using (var embedding = encoder.Forward(image))
            Assert.Equal(new[] { 1, Cfg.OutChans, Cfg.GridSize, Cfg.GridSize }, embedding.Shape);
        Assert.Equal(before, device.Pool.Allocations);
    }

    /// <summary>
    /// Global attention over n tokens with a budget of one n×n score matrix processes the heads
    /// one by one: same result, and the peak memory drops by the other heads' score matrices.
    /// </summary>
    [Fact]
    public void ChunkedAttentionMatchesAndBoundsMemory()
    {
        var device = Devices.Open("cpu");
        using var weights = EncoderWeights.Load(TinyEncoder.StateDict(Cfg), Cfg, device);
        int g = Cfg.GridSize, n = g * g, global = Cfg.GlobalAttnIndexes[0];
        var rng = new Random(3);
        using var x = Tensor.FromArray(device, Enumerable.Range(0, n * Cfg.EmbedDim).Select(_ => rng.NextSingle() - 0.5f).ToArray(), 1, g, g, Cfg.EmbedDim);

        (float[] Output, long Peak) Run(long budget)
        {
            var attention = new Attention(weights.Blocks[global].Attn, Cfg.NumHeads, budget);
            using var y = Tensor.Empty(device, x.Shape);
            device.Pool.ResetPeak();
            long live = device.Pool.LiveBytes;
            attention.Forward(x, y);
            return (y.Download(), device.Pool.PeakLiveBytes - live);
        }

        var whole = Run(Attention.DefaultMaxScoreElements);
        var chunked = Run((long)n * n);
        Assert.Equal(whole.Output.Length, chunked.Output.Length);
        for (int i = 0; i < whole.Output.Length; i++) Assert.Equal(whole.Output[i], chunked.Output[i], 1e-5f);
        Assert.Equal(whole.Peak - (Cfg.NumHeads - 1) * (long)n * n * sizeof(float), chunked.Peak);
    }

    [Fact]
    public void MisshapenWeightIsNamed()
    {
        var good = TinyEncoder.StateDict(Cfg);
        var tensors = good.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        const string key = EncoderWeights.Prefix + "blocks.2.attn.qkv.weight";
        tensors[key] = new WeightTensor(key, [7, Cfg.EmbedDim], DType.F32, () => new float[7 * Cfg.EmbedDim]);
        var e = Assert.Throws<SamException>(() => EncoderWeights.Load(new StateDict(tensors), Cfg, Devices.Open("cpu")));
        Assert.Contains(key, e.Message);
        tensors.Remove(key);
        e = Assert.Throws<SamException>(() => EncoderWeights.Load(new StateDict(tensors), Cfg, Devices.Open("cpu")));
        Assert.Contains(key, e.Message);
    }
}
