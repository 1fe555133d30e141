using System.Text.Json.Nodes;
using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// `sam verify`'s work: runs each fixture image through our preprocessing and encoder and
/// compares every stage the fixture has a float64 reference for. Starts from the decoded
/// image_rgb.npy, or from an image file, whose decoding is then the first stage checked.
/// </summary>
internal static class EncoderVerification
{
    /// <summary>Fixture layout: meta.json lists the images; DIR/&lt;image&gt;/ holds the reference arrays; errors.json PyTorch's float32 errors.</summary>
    /// <param name="images">Only these images (default: all of meta.json's).</param>
    /// <param name="encoded">Told each image's encoder time.</param>
    public static IEnumerable<StageCheck> Run(SamImageEncoder encoder, string fixtures, IReadOnlyCollection<string>? images = null,
        Action<string, TimeSpan>? encoded = null)
    {
        var meta = FixtureFolder.ReadJson(Path.Combine(fixtures, "meta.json"));
        var errors = FixtureFolder.ReadJson(Path.Combine(fixtures, "errors.json"));
        foreach (var image in meta.AsObject().Select(kv => kv.Key).Where(i => images == null || images.Contains(i)))
        {
            var rgb = RgbImage.FromNpy(Npy.Read(FixtureFolder.ArrayPath(fixtures, image, "image_rgb.npy")));
            foreach (var check in RunImage(encoder, fixtures, image, errors[image], rgb, encoded))
                yield return check;
        }
    }

    /// <summary>
    /// The whole pipeline from an image file: its decoding against reference pixels (default: the
    /// fixture folder's image_rgb.npy), byte for byte, then every stage.
    /// </summary>
    public static IEnumerable<StageCheck> RunFromFile(SamImageEncoder encoder, string fixtures, string imagePath, string? pixels = null,
        Action<string, TimeSpan>? encoded = null)
    {
        var image = Path.GetFileNameWithoutExtension(imagePath);
        var errors = FixtureFolder.ReadJson(Path.Combine(fixtures, "errors.json"));
        var rgb = ImageLoader.Load(imagePath);
        yield return Decode(image, rgb, Npy.Read(pixels ?? FixtureFolder.ArrayPath(fixtures, image, "image_rgb.npy")));
        foreach (var check in RunImage(encoder, fixtures, image, errors[image], rgb, encoded))
            yield return check;
    }

    /// <summary>Decoded pixels against a reference decoding: an exact stage whose detail names the first differing pixel.</summary>
    public static StageCheck Decode(string image, RgbImage ours, NpyArray reference)
    {
        var comparison = PixelComparison.Compare(ours, reference);
        double max = comparison.ShapeMismatch != null ? double.PositiveInfinity : comparison.MaxDifference;
        return new StageCheck(image, "decode", max, max == 0 ? 0 : double.NaN, null, Exact: true, Detail: comparison.ToString());
    }

    static IEnumerable<StageCheck> RunImage(SamImageEncoder encoder, string fixtures, string image, JsonNode? errors, RgbImage rgb,
        Action<string, TimeSpan>? encoded)
    {
        double? Torch(string stage) => (double?)errors?[stage]?["rel_l2"];
        var cfg = encoder.Config;

        var resized = new ResizeLongestSide(cfg.ImgSize).ApplyImage(rgb);
        var dir = Path.Combine(fixtures, image);
        yield return CompareResize(image, resized, Npy.Read(FixtureFolder.ArrayPath(fixtures, image, "resized.npy")));

        var input = Preprocess.Normalize(resized, cfg.ImgSize);
        var preprocessed = FixtureFolder.ArrayPath(fixtures, image, "preprocessed.npy");
        if (File.Exists(preprocessed))
            yield return StageCheck.Compare(image, "preprocessed", input, Reference(preprocessed, [1, 3, cfg.ImgSize, cfg.ImgSize]), Torch("preprocessed"));

        // Activations are kept and compared after the encoder, so its time is the encoder's.
        var activations = new List<(string Name, float[] Values, int[] Shape)>();
        bool hasActivations = Directory.Exists(Path.Combine(dir, "activations"));
        var embedding = encoder.Encode(input, hasActivations ? (name, values, shape) => activations.Add((name, values, shape)) : null);
        encoded?.Invoke(image, encoder.LastEncodeTime);

        int g = cfg.GridSize;
        foreach (var (name, values, shape) in activations)
        {
            var path = Path.Combine(dir, "activations", name + ".npy");
            if (File.Exists(path))
                yield return StageCheck.Compare(image, name, values, Reference(path, shape), Torch("activations/" + name));
        }
        yield return StageCheck.Compare(image, "image_embedding", embedding,
            Reference(Path.Combine(dir, "image_embedding.npy"), [1, cfg.OutChans, g, g]), Torch("image_embedding"));
    }

    static StageCheck CompareResize(string image, RgbImage resized, NpyArray reference)
    {
        int[] ours = [resized.Height, resized.Width, 3];
        if (reference.DType != NpyDType.UInt8 || !reference.Shape.SequenceEqual(ours))
            return new StageCheck(image, "resize", double.PositiveInfinity, double.PositiveInfinity, null, Exact: true);
        var want = (byte[])reference.Data;
        var check = StageCheck.Compare(image, "resize", Array.ConvertAll(resized.Pixels, b => (float)b), Array.ConvertAll(want, b => (float)b), null);
        return check with { Exact = true };
    }

    static float[] Reference(string path, int[] shape)
    {
        var array = Npy.Read(path);
        if (!array.Shape.SequenceEqual(shape))
            throw new SamException($"{path}: reference has shape {array.ShapeText}, the model gives {Tensor.ShapeText(shape)}");
        return array.ToFloat();
    }
}
