using System.Text.Json;
using System.Text.Json.Nodes;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine;

/// <summary>
/// An image's encoder output with what the decoder needs besides it: the original image size
/// (masks are returned at it) and the input size after ResizeLongestSide (the valid region of
/// the padded 1024² input). Saved as EMB.npy (float32, 1×256×64×64) plus EMB.json beside it:
/// <code>
/// { "format": "samengine.image_embedding", "version": 1, "embedding": "EMB.npy",
///   "shape": [1, 256, 64, 64], "original_size": [h, w], "input_size": [h, w],
///   "config_digest": "sha256:…", "config": { …the encoder's hyper-parameters… },
///   "model": "sam_vit_b.pth", "image": "photo.jpg", "device": "cpu" }
/// </code>
/// config_digest lets a decoder refuse an embedding made by an encoder of another size.
/// </summary>
public sealed record ImageEmbedding
{
    internal ImageEmbedding(float[] data, int[] shape, (int Height, int Width) originalSize, (int Height, int Width) inputSize, ImageEncoderConfig config)
    {
        Data = data;
        Shape = shape;
        OriginalSize = originalSize;
        InputSize = inputSize;
        Config = config;
    }

    internal const string Format = "samengine.image_embedding";
    internal const int Version = 1;

    /// <summary>The embedding's values, row-major over <see cref="Shape"/>.</summary>
    public float[] Data { get; }
    /// <summary>[1, C, h, w]: [1, 256, 64, 64] for the official models.</summary>
    public int[] Shape { get; }
    /// <summary>The image's size (height, width).</summary>
    public (int Height, int Width) OriginalSize { get; }
    /// <summary>The image's size after ResizeLongestSide, before padding to the encoder's square input.</summary>
    public (int Height, int Width) InputSize { get; }
    internal ImageEncoderConfig Config { get; }
    /// <summary>Identifies the encoder's sizes ("sha256:…"): a predictor refuses an embedding of another encoder.</summary>
    public string EncoderDigest => Config.Digest;

    /// <summary>The checkpoint that made it (provenance written to the .json for people; not checked).</summary>
    public string? Model { get; init; }
    /// <summary>The image it was made of (provenance, not checked).</summary>
    public string? Image { get; init; }
    /// <summary>The device it was made on (provenance, not checked).</summary>
    public string? Device { get; init; }

    /// <summary>The companion JSON of an embedding .npy: the same path with .json.</summary>
    internal static string MetadataPath(string npyPath) => Path.ChangeExtension(npyPath, ".json");

    /// <summary>
    /// Writes EMB.npy (numpy float32) and EMB.json beside it (sizes and the encoder's identity),
    /// both or neither. It replaces only an embedding written by SamEngine, never another file.
    /// </summary>
    /// <param name="npyPath">Where the .npy goes; its name must end in .npy.</param>
    /// <exception cref="SamException">The name does not end in .npy, or a file SamEngine did not write is in the way.</exception>
    public void Save(string npyPath)
    {
        if (!npyPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            throw new SamException($"{npyPath}: the embedding file name must end in .npy (its metadata goes beside it as .json)");
        var jsonPath = MetadataPath(npyPath);
        OutputStamp.CheckMayWrite(npyPath, jsonPath);
        bool hadNpy = File.Exists(npyPath);
        Npy.Write(npyPath, new NpyArray(Data, Shape));
        try
        {
            AtomicFile.Write(jsonPath, s => JsonSerializer.Serialize(s, ToJson(Path.GetFileName(npyPath)), new JsonSerializerOptions { WriteIndented = true }));
            OutputStamp.StampFiles("sam embed", npyPath, jsonPath);
        }
        catch
        {
            // The .npy alone would pair with a stale or missing .json: take it back.
            if (!hadNpy) File.Delete(npyPath);
            throw;
        }
    }

    JsonObject ToJson(string npyName) => new()
    {
        ["format"] = Format,
        ["version"] = Version,
        ["embedding"] = npyName,
        ["shape"] = new JsonArray(Shape.Select(d => (JsonNode)d).ToArray()),
        ["original_size"] = new JsonArray(OriginalSize.Height, OriginalSize.Width),
        ["input_size"] = new JsonArray(InputSize.Height, InputSize.Width),
        ["config_digest"] = Config.Digest,
        ["config"] = Config.ToJson(),
        ["model"] = Model,
        ["image"] = Image,
        ["device"] = Device,
    };

    /// <summary>What an embedding's .json may weigh: ours are under 2 KB.</summary>
    const long MaxMetadataBytes = 1 << 20;

    /// <summary>Reads EMB.npy and its EMB.json (as <see cref="Save"/> or <c>sam embed</c> writes them), checking that they belong together.</summary>
    /// <exception cref="SamException">A file is missing, malformed or inconsistent.</exception>
    public static ImageEmbedding Load(string npyPath)
    {
        InputFile.Check(npyPath, npyPath);
        var jsonPath = MetadataPath(npyPath);
        if (!File.Exists(jsonPath) && !Directory.Exists(jsonPath)) throw new SamException($"{npyPath}: no metadata file {jsonPath} beside the embedding (written by `sam embed`)");
        JsonNode root;
        try { root = JsonNode.Parse(InputFile.ReadAllText(jsonPath, jsonPath, MaxMetadataBytes)) ?? throw new JsonException("empty document"); }
        catch (JsonException e) { throw new SamException($"{jsonPath}: not valid JSON ({e.Message})", e); }
        try
        {
            if ((string?)root["format"] != Format) throw new SamException($"{jsonPath}: not a SamEngine embedding metadata file (format is not {Format})");
            if ((int?)root["version"] != Version) throw new SamException($"{jsonPath}: unsupported version {root["version"]} (this build reads {Version})");
            var config = ImageEncoderConfig.FromJson(root["config"] ?? throw new SamException($"{jsonPath}: no config"));
            if ((string?)root["config_digest"] != config.Digest) throw new SamException($"{jsonPath}: config does not match its digest");
            if (config.ImgSize is < 16 or > 4096 || config.PatchSize < 1 || config.GridSize is < 1 or > 256 || config.OutChans is < 1 or > 4096)
                throw new SamException($"{jsonPath}: implausible encoder config ({config})");
            var original = Size(root, "original_size", jsonPath);
            if ((long)original.H * original.W > ImageLoader.MaxPixels)
                throw new SamException($"{jsonPath}: original_size {original.H}×{original.W} exceeds the limit of {ImageLoader.MaxPixels} pixels");
            var input = Size(root, "input_size", jsonPath);
            if (input != ResizeLongestSide.GetPreprocessShape(original.H, original.W, config.ImgSize))
                throw new SamException($"{jsonPath}: input_size {input.H}×{input.W} is not what ResizeLongestSide({config.ImgSize}) makes of {original.H}×{original.W}");
            var array = Npy.Read(npyPath);
            int[] expected = [1, config.OutChans, config.GridSize, config.GridSize];
            if (array.DType != NpyDType.Float32 || !array.Shape.SequenceEqual(expected))
                throw new SamException($"{npyPath}: expected a float32 {Tensor.ShapeText(expected)} embedding, got {array.DType.Descr()} {array.ShapeText}");
            var values = (float[])array.Data;
            if (Array.FindIndex(values, v => !float.IsFinite(v)) is var bad and >= 0)
                throw new SamException($"{npyPath}: the embedding holds a non-finite value (NaN/Inf) at index {bad}");
            return new ImageEmbedding(values, array.Shape, original, input, config)
            {
                Model = (string?)root["model"],
                Image = (string?)root["image"],
                Device = (string?)root["device"],
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new SamException($"{jsonPath}: malformed metadata ({e.Message})", e);
        }
    }

    static (int H, int W) Size(JsonNode root, string key, string path)
    {
        if (root[key] is not JsonArray { Count: 2 } a || (int?)a[0] is not > 0 || (int?)a[1] is not > 0)
            throw new SamException($"{path}: {key} must be [height, width] with positive integers");
        return ((int)a[0]!, (int)a[1]!);
    }
}
