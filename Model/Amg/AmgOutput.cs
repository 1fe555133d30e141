using System.Text;
using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// Where one image's AMG outputs go in an output folder, as scripts/amg.py names them: a folder
/// &lt;name&gt;/ of mask PNGs and metadata.csv, or with RLE a file &lt;name&gt;.json; plus an
/// overlay picture (&lt;name&gt;/overlay.png, or &lt;name&gt;.overlay.png beside the JSON).
/// Outputs appear whole or not at all (a temporary folder renamed into place, or atomic files
/// with the JSON last), so an output that exists is complete and a rerun can skip its image.
/// </summary>
public sealed class AmgOutput(string folder, bool convertToRle)
{
    public string Folder { get; } = folder;
    public bool ConvertToRle { get; } = convertToRle;

    /// <summary>The folder or JSON file for an image named <paramref name="name"/> (its file name without extension).</summary>
    public string PathFor(string name) => Path.Combine(Folder, ConvertToRle ? name + ".json" : name);

    public string OverlayPathFor(string name) =>
        ConvertToRle ? Path.Combine(Folder, name + ".overlay.png") : Path.Combine(Folder, name, "overlay.png");

    public bool IsComplete(string name) => ConvertToRle
        ? File.Exists(PathFor(name)) && File.Exists(OverlayPathFor(name))
        : File.Exists(Path.Combine(PathFor(name), "metadata.csv")) && File.Exists(OverlayPathFor(name));

    /// <summary>Writes an image's outputs, replacing a previous complete output of the same name.</summary>
    public void Write(string name, RgbImage image, AmgResult result)
    {
        var overlay = AmgOverlay.Draw(image, result);
        if (ConvertToRle)
        {
            var path = PathFor(name);
            if (Directory.Exists(path)) throw new SamException($"{path} is a folder; cannot write the image's JSON there");
            MaskOverlay.WritePng(overlay, OverlayPathFor(name));
            var json = Encoding.UTF8.GetBytes(AmgJson.Serialize(result));
            AtomicFile.Write(path, stream => stream.Write(json));
            return;
        }
        var target = PathFor(name);
        if (File.Exists(target)) throw new SamException($"{target} is a file; cannot write the image's mask folder there");
        AtomicFolder.Write(target, target, temp =>
        {
            AmgFolder.Write(result, temp);
            MaskOverlay.WritePng(overlay, Path.Combine(temp, "overlay.png"));
        }, existing =>
        {
            if (!File.Exists(Path.Combine(existing, "metadata.csv")))
                throw new SamException($"{target} exists and is not a mask folder (no metadata.csv); not replaced");
        });
    }
}
