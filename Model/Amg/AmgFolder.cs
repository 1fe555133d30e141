namespace SamEngine.Model;

/// <summary>
/// scripts/amg.py's write_masks_to_folder: each mask as &lt;i&gt;.png (8-bit grey, 0 or 255) and
/// metadata.csv with one row per mask, every value as Python's str() writes it, lines joined
/// by "\n" with no newline after the last.
/// </summary>
internal static class AmgFolder
{
    public const string Header = "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h";

    public static void Write(AmgResult result, string folder)
    {
        for (int i = 0; i < result.Masks.Count; i++)
        {
            var mask = result.Masks[i].BinaryMask ?? result.Masks[i].Rle.Decode();
            File.WriteAllBytes(Path.Combine(folder, $"{i}.png"), MaskPng.Encode(mask, result.Height, result.Width));
        }
        File.WriteAllText(Path.Combine(folder, "metadata.csv"), Metadata(result));
    }

    public static string Metadata(AmgResult result)
    {
        var lines = new List<string>(result.Masks.Count + 1) { Header };
        for (int i = 0; i < result.Masks.Count; i++)
        {
            var m = result.Masks[i];
            var (bx, by, bw, bh) = m.Box.ToXywh();
            var (cx, cy, cw, ch) = m.CropBox.ToXywh();
            string Box(int v) => AmgJson.BoxNumber(v, result.BoxesAreFloat);
            string Crop(int v) => AmgJson.BoxNumber(v, result.CropBoxesAreFloat);
            lines.Add(string.Join(',',
                i.ToString(System.Globalization.CultureInfo.InvariantCulture), m.Area.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Box(bx), Box(by), Box(bw), Box(bh),
                PyFloat.Str(m.PointCoords.X), PyFloat.Str(m.PointCoords.Y),
                PyFloat.Str(m.PredictedIou), PyFloat.Str(m.StabilityScore),
                Crop(cx), Crop(cy), Crop(cw), Crop(ch)));
        }
        return string.Join('\n', lines);
    }
}
