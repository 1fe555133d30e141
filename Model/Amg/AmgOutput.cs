using System.Text;
using SamEngine.Engine;
using SamEngine.FileFormats;

namespace SamEngine.Model;

/// <summary>
/// Where one image's AMG outputs go in an output folder, as scripts/amg.py names them: a folder
/// &lt;name&gt;/ of mask PNGs and metadata.csv, or with RLE a file &lt;name&gt;.json; plus an
/// overlay picture (&lt;name&gt;/overlay.png, or &lt;name&gt;.overlay.png beside the JSON).
/// Outputs appear whole or not at all (a temporary folder renamed into place, or atomic files
/// stamped last), each stamped as sam's (<see cref="OutputStamp"/>): an output that is stamped
/// and unchanged is complete, and a rerun skips its image; anything else of that name is not
/// ours and is never overwritten.
/// </summary>
internal sealed class AmgOutput(string folder, bool convertToRle)
{
    public string Folder { get; } = folder;
    public bool ConvertToRle { get; } = convertToRle;

    /// <summary>The folder or JSON file for an image named <paramref name="name"/> (its file name without extension).</summary>
    public string PathFor(string name) => Path.Combine(Folder, ConvertToRle ? name + ".json" : name);

    public string OverlayPathFor(string name) =>
        ConvertToRle ? Path.Combine(Folder, name + ".overlay.png") : Path.Combine(Folder, name, "overlay.png");

    public bool IsComplete(string name) => ConvertToRle
        ? OutputStamp.IsComplete(PathFor(name), OverlayPathFor(name))
        : OutputStamp.IsCompleteFolder(PathFor(name));

    /// <summary>Writes an image's outputs, replacing only a previous output of sam's of the same name.</summary>
    public void Write(string name, RgbImage image, AmgResult result)
    {
        var overlay = AmgOverlay.Draw(image, result);
        var target = PathFor(name);
        if (ConvertToRle)
        {
            OutputStamp.CheckMayWrite(target, OverlayPathFor(name));
            MaskOverlay.WritePng(overlay, OverlayPathFor(name));
            var json = Encoding.UTF8.GetBytes(AmgJson.Serialize(result));
            AtomicFile.Write(target, stream => stream.Write(json));
            OutputStamp.StampFiles("sam amg", target, OverlayPathFor(name));
            return;
        }
        AtomicFolder.Write(target, target, "sam amg", temp =>
        {
            AmgFolder.Write(result, temp);
            MaskOverlay.WritePng(overlay, Path.Combine(temp, "overlay.png"));
        });
    }
}
