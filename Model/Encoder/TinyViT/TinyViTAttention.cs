using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// TinyViT's windowed attention: the grid zero-padded to whole windows and cut into them, then per
/// window LayerNorm (the padding becomes the norm's bias and takes part as keys and values),
/// qkv grouped per head ([q | k | v] within each head's slice), softmax(q·kᵀ/√d + bias) with one
/// learned bias per head and relative offset (|Δrow|·ws + |Δcol| indexes the table), the heads
/// merged, proj; the padding is cropped away. The bias table is spread to [heads, N, N] at load.
/// </summary>
internal sealed class TinyViTAttention(Tensor normWeight, Tensor normBias, Tensor qkv, Tensor qkvBias, Tensor proj, Tensor projBias,
    Tensor bias, int numHeads, int window)
{
    public static TinyViTAttention Load(DeviceWeights store, string name, int channels, int numHeads, int window)
    {
        int n = window * window;
        var table = store.Host(name + ".attention_biases", numHeads, n);
        var dense = new float[numHeads * n * n];
        for (int h = 0; h < numHeads; h++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    dense[(h * n + i) * n + j] = table[h * n + Math.Abs(i / window - j / window) * window + Math.Abs(i % window - j % window)];
        return new TinyViTAttention(
            store.Get(name + ".norm.weight", channels), store.Get(name + ".norm.bias", channels),
            store.Get(name + ".qkv.weight", 3 * channels, channels), store.Get(name + ".qkv.bias", 3 * channels),
            store.Get(name + ".proj.weight", channels, channels), store.Get(name + ".proj.bias", channels),
            store.Upload(dense, numHeads, n, n), numHeads, window);
    }

    /// <summary>y [B, H, W, C] = attention of x [B, H, W, C] + residual (y may be the residual).</summary>
    public void Forward(Tensor x, Tensor y, Tensor residual)
    {
        var device = x.Device;
        int b = x.Dim(0), h = x.Dim(1), w = x.Dim(2), c = x.Dim(3), hd = c / numHeads, n = window * window;
        int windows = b * ((h + window - 1) / window) * ((w + window - 1) / window), bh = windows * numHeads;
        using var tiles = Tensor.Empty(device, windows, window, window, c);
        Window.Partition(x, window, tiles);
        LayerNorm.Forward(tiles, normWeight, normBias, TinyViTConfig.LayerNormEps, tiles);
        using var heads = Tensor.Empty(device, 3, windows, numHeads, n, hd);
        using (var projected = Tensor.Empty(device, windows, n, 3 * c))
        {
            Linear.Forward(tiles.Reshape(windows, n, c), qkv, qkvBias, projected);
            // [windows, N, heads, (q, k, v), hd] → [(q, k, v), windows, heads, N, hd]
            Permute.Forward(projected.Reshape(windows, n, numHeads, 3, hd), [3, 0, 2, 1, 4], heads);
        }
        var q = heads.Slice(0, 1).Reshape(bh, n, hd);
        var k = heads.Slice(1, 1).Reshape(bh, n, hd);
        var v = heads.Slice(2, 1).Reshape(bh, n, hd);
        using var o = Tensor.Empty(device, bh, n, hd);
        using (var scores = Tensor.Empty(device, bh, n, n))
        {
            Gemm.Forward(q, k, scores, transB: true);
            Softmax.Forward(scores, scores, (float)Math.Pow(hd, -0.5), bias);
            Gemm.Forward(scores, v, o);
        }
        using var merged = Tensor.Empty(device, windows, n, numHeads, hd);
        Permute.Forward(o.Reshape(windows, numHeads, n, hd), [0, 2, 1, 3], merged);
        Linear.Forward(merged.Reshape(windows, n, c), proj, projBias, tiles.Reshape(windows, n, c));
        using var output = Tensor.Empty(device, x.Shape);
        Window.Unpartition(tiles, window, output);
        Add.Forward(output, residual, y);
    }
}
