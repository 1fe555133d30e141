using System.Diagnostics;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// The image side of SAM as a library call: a checkpoint's encoder (SAM's ViT or MobileSAM's
/// TinyViT) on one device, turning an RGB image into the embedding the prompt decoder consumes
/// (Sam.preprocess + image_encoder).
/// </summary>
internal sealed class SamImageEncoder : IDisposable
{
    readonly EncoderWeights? weights;
    readonly ImageEncoderViT? vit;
    readonly TinyViT? tinyViT;

    public SamImageEncoder(StateDict stateDict, ImageEncoderConfig config, Device device)
    {
        Config = config;
        Device = device;
        if (config.TinyViT is { } t) tinyViT = TinyViT.Load(stateDict, t, device);
        else
        {
            weights = EncoderWeights.Load(stateDict, config, device);
            vit = new ImageEncoderViT(weights);
        }
    }

    /// <summary>Loads a .pth or .safetensors checkpoint; the encoder's size is read from its weights.</summary>
    public static SamImageEncoder Load(string modelPath, Device device)
    {
        // The device holds its own copy of the weights once uploaded; the file is not needed after.
        using var stateDict = StateDict.Load(modelPath);
        var config = ImageEncoderConfig.Of(SamConfig.Infer(stateDict));
        return new SamImageEncoder(stateDict, config, device) { ModelName = Path.GetFileName(modelPath) };
    }

    public ImageEncoderConfig Config { get; }
    public Device Device { get; }
    public string? ModelName { get; init; }

    /// <summary>Wall time of the last <see cref="Encode"/> (device work included).</summary>
    public TimeSpan LastEncodeTime { get; private set; }

    /// <summary>
    /// ResizeLongestSide, normalisation and padding, then the encoder. <paramref name="progress"/>
    /// hears of the patch embedding and each block as the device finishes them, and cancellation
    /// is seen between them.
    /// </summary>
    public ImageEmbedding Embed(RgbImage image, IProgress<SamProgress>? progress = null, CancellationToken cancel = default)
    {
        cancel.ThrowIfCancellationRequested();
        var (input, inputSize) = Preprocess.Apply(image, Config.ImgSize);
        int steps = Config.Steps, done = 0;
        Action<string, Tensor>? step = progress == null && !cancel.CanBeCanceled ? null : (_, _) =>
        {
            // A device runs ahead of its host: wait for the block, so that progress is the device's, not the queue's.
            if (progress != null) Device.Synchronize();
            cancel.ThrowIfCancellationRequested();
            progress?.Report(new SamProgress("encoder", ++done, steps));
        };
        var values = EncodeOnDevice(input, step);
        // Finite weights and pixels can still overflow somewhere in 12+ blocks: an embedding of NaNs is no result.
        long bad = 0;
        foreach (var v in values)
            if (!float.IsFinite(v)) bad++;
        if (bad > 0) throw new SamException($"the image encoder produced {bad:N0} non-finite values (NaN/Inf) of {values.Length:N0}: the checkpoint's weights overflow float32 on this image");
        return new ImageEmbedding(values, [1, Config.OutChans, Config.GridSize, Config.GridSize],
            (image.Height, image.Width), inputSize, Config) { Model = ModelName, Device = Device.Kind.Name() };
    }

    /// <summary>
    /// The encoder on a preprocessed 1×3×img×img input; <paramref name="observe"/> sees the
    /// channels-last activations after "patch_embed" and each "blockNN" (TinyViT: each "layerN"),
    /// as host arrays with their shapes.
    /// </summary>
    public float[] Encode(float[] input, Action<string, float[], int[]>? observe = null) =>
        EncodeOnDevice(input, observe == null ? null : (name, t) => observe(name, t.Download(), [.. t.Shape]));

    float[] EncodeOnDevice(float[] input, Action<string, Tensor>? observe)
    {
        var clock = Stopwatch.StartNew();
        using var x = Tensor.FromArray(Device, input, 1, ImageEncoderConfig.InChans, Config.ImgSize, Config.ImgSize);
        using var embedding = tinyViT != null ? tinyViT.Forward(x, observe) : vit!.Forward(x, observe);
        var result = embedding.Download();
        LastEncodeTime = clock.Elapsed;
        return result;
    }

    public void Dispose()
    {
        weights?.Dispose();
        tinyViT?.Dispose();
    }
}
