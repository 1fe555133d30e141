using System.Security.Cryptography;
using System.Text;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine;

/// <summary>
/// A Segment Anything model: a checkpoint's weights bound to one device, as build_sam.py's
/// <c>sam_model_registry[...](checkpoint=...)</c> builds it. Make any number of
/// <see cref="SamPredictor"/>s and <see cref="SamAutomaticMaskGenerator"/>s from it; keep the
/// model until they are disposed.
/// </summary>
/// <example>
/// <code>
/// using var model = SamModel.Load("sam_vit_b_01ec64.pth");
/// using var predictor = new SamPredictor(model);
/// predictor.SetImage("photo.jpg");
/// var prediction = predictor.Predict(pointCoords: new float[,] { { 500, 375 } }, pointLabels: [1]);
/// File.WriteAllBytes("mask.png", prediction.MaskPng(prediction.BestMaskIndex()));
/// </code>
/// </example>
public sealed class SamModel : IDisposable
{
    internal StateDict Weights { get; }
    internal Device Device { get; }
    internal SamConfig Config { get; }

    readonly Lazy<string> digest;

    SamModel(StateDict weights, Device device, string name, Func<string> digest)
    {
        Weights = weights;
        Device = device;
        Config = SamConfig.Infer(weights);
        Name = name;
        this.digest = new Lazy<string>(digest);
    }

    /// <summary>
    /// Loads a checkpoint: the official <c>.pth</c> files (read without running pickle code), a
    /// <c>.safetensors</c> file, or a Hugging Face <c>SamModel</c>'s weights. The model's size
    /// (ViT-B, ViT-L, ViT-H or another) is read from the weights.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="device">
    /// <c>auto</c> (CUDA, then an OpenCL GPU, then <c>cpu</c>), <c>cpu</c> (native SIMD),
    /// <c>cuda</c>, <c>opencl</c> or <c>ilgpu-cpu</c> (the GPU kernels emulated, slow); null reads
    /// the <c>SAM_DEVICE</c> environment variable, then picks as <c>auto</c> does.
    /// </param>
    /// <exception cref="SamException">The file is missing or not a SAM checkpoint, or the device is not available.</exception>
    public static SamModel Load(string path, string? device = null)
    {
        var weights = StateDict.Load(path);
        try
        {
            return new SamModel(weights, Devices.Open(device), Path.GetFileName(path), () => FileDigest(path));
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An official size with random weights: its timings are the real model's, its masks are
    /// meaningless. For benchmarks and trying the API without a checkpoint.
    /// </summary>
    /// <param name="architecture"><c>vit_b</c>, <c>vit_l</c>, <c>vit_h</c> or <c>mobile_sam</c> (MobileSAM's TinyViT encoder).</param>
    /// <param name="seed">The same seed gives the same weights.</param>
    /// <param name="device">As for <see cref="Load"/>.</param>
    public static SamModel Random(string architecture = "vit_b", int seed = 0, string? device = null)
    {
        var arch = SamArchitecture.Parse(architecture);
        return new SamModel(RandomWeights.Create(arch, seed), Devices.Open(device), $"random {arch.Name} (seed {seed})",
            () => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"samengine-random-{arch.Name}-seed-{seed}"))));
    }

    static string FileDigest(string path)
    {
        using var file = InputFile.OpenRead(path, path, long.MaxValue);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>The checkpoint's file name, or "random vit_b (seed 0)".</summary>
    public string Name { get; }

    /// <summary>
    /// The SHA-256 of the checkpoint file ("sha256:…"), read at first use (seconds for ViT-H): it
    /// names the model in a cache of embeddings, which are only valid for the model that made them.
    /// </summary>
    public string Digest => digest.Value;

    /// <summary>The device the model runs on, e.g. "cpu (AMD EPYC 9B14)" or "cuda (NVIDIA H100 80GB HBM3)".</summary>
    public string DeviceName => Device.ToString();

    /// <summary>The encoder's square input size in pixels (1024 for the official models).</summary>
    public int ImageSize => Config.ImageSize;

    /// <summary>Every device of this machine, usable or not, with why not: the names <see cref="Load"/> takes.</summary>
    public static IReadOnlyList<SamDeviceInfo> ListDevices() => Devices.List().Select(SamDeviceInfo.From).ToArray();

    /// <summary>Releases the checkpoint file.</summary>
    public void Dispose() => Weights.Dispose();

    /// <inheritdoc/>
    public override string ToString() => $"{Name} on {DeviceName}";
}
