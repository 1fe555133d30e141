using System.Globalization;
using System.Text;

namespace SamEngine.Model;

/// <summary>
/// The records as scripts/amg.py's json.dump writes them with --convert-to-rle (or as the
/// uncompressed RLE records): one line, Python's separators ", " and ": ", keys in the
/// reference's order, floats as Python prints them (NaN for a stability score of 0/0), and
/// box numbers integral or float as the reference's arrays are. <c>strict</c> writes standard
/// JSON instead (RFC 8259 has no NaN): a non-finite score becomes null, for browsers and
/// JSON.parse; files stay as amg.py writes them.
/// </summary>
internal static class AmgJson
{
    public static string Serialize(AmgResult result, bool strict = false)
    {
        if (result.OutputMode == AmgOutputMode.BinaryMask)
            throw new InvalidOperationException("binary masks have no JSON form (json.dump cannot write arrays): generate with an RLE output mode");
        var s = new StringBuilder();
        s.Append('[');
        for (int i = 0; i < result.Masks.Count; i++)
        {
            var m = result.Masks[i];
            if (i > 0) s.Append(", ");
            string Number(double x) => strict && !double.IsFinite(x) ? "null" : PyFloat.Json(x);
            s.Append("{\"segmentation\": {\"size\": [").Append(m.Rle.Height).Append(", ").Append(m.Rle.Width).Append("], \"counts\": ");
            if (result.OutputMode == AmgOutputMode.CocoRle) AppendString(s, m.CocoCounts!);
            else s.Append('[').AppendJoin(", ", m.Rle.Counts.Select(c => c.ToString(CultureInfo.InvariantCulture))).Append(']');
            s.Append("}, \"area\": ").Append(m.Area);
            s.Append(", \"bbox\": ");
            AppendBox(s, m.Box.ToXywh(), result.BoxesAreFloat);
            s.Append(", \"predicted_iou\": ").Append(Number(m.PredictedIou));
            s.Append(", \"point_coords\": [[").Append(Number(m.PointCoords.X)).Append(", ").Append(Number(m.PointCoords.Y)).Append("]]");
            s.Append(", \"stability_score\": ").Append(Number(m.StabilityScore));
            s.Append(", \"crop_box\": ");
            AppendBox(s, m.CropBox.ToXywh(), result.CropBoxesAreFloat);
            s.Append('}');
        }
        return s.Append(']').ToString();
    }

    /// <summary>One box number as str() or json.dumps writes an int64 or float32 array element.</summary>
    public static string BoxNumber(int value, bool isFloat) =>
        isFloat ? PyFloat.Str(value) : value.ToString(CultureInfo.InvariantCulture);

    static void AppendBox(StringBuilder s, (int X, int Y, int W, int H) b, bool isFloat) =>
        s.Append('[').AppendJoin(", ", new[] { b.X, b.Y, b.W, b.H }.Select(v => BoxNumber(v, isFloat))).Append(']');

    static void AppendString(StringBuilder s, string value)
    {
        s.Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\') s.Append('\\').Append(c);
            else if (c < ' ') s.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else s.Append(c);
        }
        s.Append('"');
    }
}
