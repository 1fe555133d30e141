using System.Text.Json;
using System.Text.Json.Nodes;
using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// A reference fixture folder as the official code's export writes it (see sam-mini's README):
/// meta.json names the images and their sizes, errors.json gives PyTorch float32's own error on
/// every stage, and DIR/&lt;image&gt;/ holds the float64 reference arrays, prompt cases and AMG records.
/// </summary>
internal sealed class FixtureFolder
{
    readonly JsonNode meta, errors;

    public string Path { get; }

    FixtureFolder(string path, JsonNode meta, JsonNode errors) => (Path, this.meta, this.errors) = (path, meta, errors);

    public static FixtureFolder Open(string path)
    {
        if (!Directory.Exists(path)) throw new SamException($"{path}: fixture folder not found");
        return new FixtureFolder(path, ReadJson(System.IO.Path.Combine(path, "meta.json")), ReadJson(System.IO.Path.Combine(path, "errors.json")));
    }

    public IReadOnlyList<string> Images => meta.AsObject().Select(kv => kv.Key).ToList();

    public string ImageDir(string image) => System.IO.Path.Combine(Path, image);

    public (int H, int W) OriginalSize(string image)
    {
        var size = meta[image]?["original_size"]?.AsArray() ?? throw new SamException($"{Path}/meta.json: no original_size for {image}");
        return ((int)size[0]!, (int)size[1]!);
    }

    /// <summary>errors.json's entry for one stage of one image (e.g. "image_embedding", "cases/box"), null if it has none.</summary>
    public JsonNode? Errors(string image, string stage) => errors[image]?[stage];

    /// <summary>Every entry of errors.json for stages starting with <paramref name="prefix"/>, over all images.</summary>
    public IEnumerable<JsonNode> ErrorsLike(string prefix) =>
        errors.AsObject().SelectMany(image => image.Value!.AsObject().Where(s => s.Key.StartsWith(prefix)).Select(s => s.Value!));

    /// <summary>
    /// Where image's reference array name (e.g. "image_rgb.npy") is: in the image's folder, or, when
    /// meta.json lists it under omitted_npy_sha256 (a fixture that does not repeat another's
    /// model-independent arrays), the file of that sha256 at the same place in a sibling fixture
    /// folder. The image's own path when neither has it (the caller reports it missing).
    /// </summary>
    public static string ArrayPath(string fixtures, string image, string name)
    {
        string own = System.IO.Path.Combine(fixtures, image, name);
        if (File.Exists(own)) return own;
        var metaPath = System.IO.Path.Combine(fixtures, "meta.json");
        var hash = File.Exists(metaPath) ? (string?)ReadJson(metaPath)[image]?["omitted_npy_sha256"]?[name] : null;
        var parent = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(fixtures));
        if (hash == null || parent == null) return own;
        foreach (var sibling in Directory.EnumerateDirectories(parent).Order(StringComparer.Ordinal))
        {
            string candidate = System.IO.Path.Combine(sibling, image, name);
            if (File.Exists(candidate) && Sha256(candidate) == hash) return candidate;
        }
        return own;
    }

    static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    internal static JsonNode ReadJson(string path)
    {
        try { return JsonNode.Parse(InputFile.ReadAllText(path, path, 64 << 20)) ?? throw new SamException($"{path}: empty JSON"); }
        catch (JsonException e) { throw new SamException($"{path}: not valid JSON ({e.Message})", e); }
    }
}
