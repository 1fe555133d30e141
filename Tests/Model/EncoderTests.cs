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
    /// Global attention over n = 32² tokens must not hold even one head's n×n score matrix:
    /// its peak memory is that of qkv, the split heads and the output (a few n×C buffers).
    /// </summary>
    [Theory]
    [InlineData("cpu")]
    [InlineData("ilgpu-cpu")]
    public void GlobalAttentionHoldsNoScoreMatrix(string deviceName)
    {
        var device = Devices.Open(deviceName);
        var cfg = Cfg with { ImgSize = 512, Depth = 2 };
        using var weights = EncoderWeights.Load(TinyEncoder.StateDict(cfg), cfg, device);
        int g = cfg.GridSize, n = g * g, global = cfg.GlobalAttnIndexes[0];
        var rng = new Random(3);
        using var x = Tensor.FromArray(device, Enumerable.Range(0, n * cfg.EmbedDim).Select(_ => rng.NextSingle() - 0.5f).ToArray(), 1, g, g, cfg.EmbedDim);
        using var y = Tensor.Empty(device, x.Shape);
        var attention = new Attention(weights.Blocks[global].Attn, cfg.NumHeads);

        device.Pool.ResetPeak();
        long live = device.Pool.LiveBytes;
        attention.Forward(x, y);
        long peak = device.Pool.PeakLiveBytes - live;

        Assert.True(peak < (long)n * n * sizeof(float), $"global attention over {n} tokens peaked at {peak} B");
        Assert.All(y.Download(), v => Assert.True(float.IsFinite(v)));
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
