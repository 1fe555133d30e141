using System.Text.Json;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>
/// `sam amg` end to end, in process, on small crops of the shapes image with a 2×2 point grid
/// and the score filters off (so every image gets masks quickly): scripts/amg.py's folder and
/// JSON outputs, and folder batches with a corrupt image, shards and resuming.
/// </summary>
public sealed class AmgCliTests : IDisposable
{
    const string Header = "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h";
    static readonly string[] Fast = ["--points-per-side", "2", "--pred-iou-thresh", "0", "--stability-score-thresh", "0", "--device", "cpu"];

    readonly string work = Path.Combine(Path.GetTempPath(), "sam-amg-" + Guid.NewGuid().ToString("N"));

    public AmgCliTests() => Directory.CreateDirectory(work);

    public void Dispose() => Directory.Delete(work, recursive: true);

    static (int Code, string Out, string Error) Sam(params string[] args) => SamCli.Run(args);

    /// <summary>A folder with two images cut from the shapes scene (150×200 and 120×160), a corrupt PNG and a text file.</summary>
    string Inputs()
    {
        var shapes = ImageLoader.Load(Fixtures.Require("sam-mini/shapes.png"));
        var dir = Path.Combine(work, "in");
        Directory.CreateDirectory(dir);
        MaskOverlay.WritePng(Cut(shapes, 200, 150, 200, 150), Path.Combine(dir, "a.png"));
        MaskOverlay.WritePng(Cut(shapes, 500, 380, 160, 120), Path.Combine(dir, "b.png"));
        File.WriteAllBytes(Path.Combine(dir, "bad.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3, 4]);
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "not an image");
        return dir;
    }

    static RgbImage Cut(RgbImage image, int x0, int y0, int w, int h)
    {
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            image.Pixels.AsSpan(((y0 + y) * image.Width + x0) * 3, w * 3).CopyTo(pixels.AsSpan(y * w * 3));
        return new RgbImage(h, w, pixels);
    }

    [SkippableFact]
    public void FolderBatchSkipsBadImagesSplitsIntoShardsAndResumes()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var input = Inputs();
        var output = Path.Combine(work, "out");
        string[] Args(params string[] extra) => ["amg", "--model", model, "--input", input, "--output", output, .. Fast, .. extra];

        // Sorted: a.png, b.png, bad.png; shard 0 of 2 takes a.png and bad.png.
        var (code, _, error) = Sam(Args("--shard", "0/2"));
        Assert.Equal(1, code);
        Assert.Contains("bad.png", error);
        Assert.Contains("1 image(s) failed", error);
        Assert.Equal(["a"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        CheckMaskFolder(Path.Combine(output, "a"), 150, 200);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(output, "a", "metadata.csv"));

        (code, _, error) = Sam(Args("--shard", "1/2"));
        Assert.True(code == 0, error);
        Assert.Equal(["a", "b"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());
        CheckMaskFolder(Path.Combine(output, "b"), 120, 160);

        // The whole folder again: both done images are skipped, the bad one fails again.
        (code, var stdout, error) = Sam(Args());
        Assert.Equal(1, code);
        Assert.Contains("bad.png", error);
        Assert.Contains("0 image(s), 0 masks", stdout);
        Assert.Contains("2 already done", stdout);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(output, "a", "metadata.csv")));
        Assert.Equal(["a", "b"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order());   // no temporary folders
    }

    [SkippableFact]
    public void ConvertToRleWritesOneCocoJsonPerImage()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var image = Path.Combine(Inputs(), "a.png");
        var output = Path.Combine(work, "rle");
        var (code, _, error) = Sam(["amg", "--model", model, "--input", image, "--output", output, "--convert-to-rle", .. Fast]);
        Assert.True(code == 0, error);
        Assert.Equal([".a.json.sam-output.json", "a.json", "a.overlay.png"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var text = File.ReadAllText(Path.Combine(output, "a.json"));
        Assert.StartsWith("[{\"segmentation\": {\"size\": [150, 200], \"counts\": \"", text);
        using var doc = JsonDocument.Parse(text.Replace(": NaN", ": null"));
        Assert.NotEqual(0, doc.RootElement.GetArrayLength());
        foreach (var record in doc.RootElement.EnumerateArray())
        {
            Assert.Equal(["segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"],
                record.EnumerateObject().Select(p => p.Name));
            var counts = CocoRle.Decode(record.GetProperty("segmentation").GetProperty("counts").GetString()!);
            var rle = new Rle(150, 200, counts);
            Assert.Equal(rle.Area, record.GetProperty("area").GetInt64());
            var box = MaskBoxes.FromMask(rle.Decode(), 150, 200);
            Assert.Equal([box.X0, box.Y0, box.Width, box.Height], record.GetProperty("bbox").EnumerateArray().Select(v => v.GetInt32()));
            Assert.Equal([0, 0, 200, 150], record.GetProperty("crop_box").EnumerateArray().Select(v => v.GetInt32()));
        }
    }

    [Fact]
    public void BadArgumentsFailBeforeAnyOutput()
    {
        var output = Path.Combine(work, "none");
        var input = Path.Combine(work, "missing.png");
        foreach (var (args, message) in new (string[], string)[]
        {
            (["--shard", "2/2"], "--shard '2/2'"),
            (["--shard", "0/2000000"], "must be in [1, 1000000]"),
            (["--points-per-side", "0"], "--points-per-side 0: must be in [1, 512]"),
            (["--points-per-side", "2000"], "--points-per-side 2000: must be in [1, 512]"),
            (["--points-per-side", "512", "--crop-n-layers", "1"], "1,310,720 point prompts over 5 crop(s): about 3.6 h of decoder work"),
            (["--crop-n-layers", "10"], "--crop-n-layers 10: must be in [0, 4]"),
            (["--points-per-batch", "100000"], "--points-per-batch 100000: must be in [1, 1024]"),
            (["--pred-iou-thresh", "nan"], "--pred-iou-thresh NaN: must be in [0, 1]"),
            (["--stability-score-offset", "1e300"], "--stability-score-offset 1E+300: must be in [-100, 100]"),
            (["--crop-overlap-ratio", "1.5"], "--crop-overlap-ratio 1.5: must be in [0, 1)"),
            ([], "missing.png: no such image or folder"),
        })
        {
            var (code, _, error) = Sam(["amg", "--model", "unused.pth", "--input", input, "--output", output, .. args]);
            Assert.Equal(1, code);
            Assert.StartsWith("sam: error: ", error);
            Assert.Contains(message, error);
            Assert.False(Directory.Exists(output));
        }
    }

    /// <summary>write_masks_to_folder's layout: i.png grey 0/255 for each metadata row, the row's area and box those of the PNG.</summary>
    static void CheckMaskFolder(string folder, int h, int w)
    {
        var lines = File.ReadAllText(Path.Combine(folder, "metadata.csv")).Split('\n');
        Assert.Equal(Header, lines[0]);
        int n = lines.Length - 1;
        Assert.True(n > 0);
        var expectedFiles = Enumerable.Range(0, n).Select(i => $"{i}.png").Append("metadata.csv").Append("overlay.png").Append(OutputStamp.FolderStampName).Order(StringComparer.Ordinal);
        Assert.Equal(expectedFiles, Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        for (int i = 0; i < n; i++)
        {
            var fields = lines[i + 1].Split(',');
            Assert.Equal(14, fields.Length);
            Assert.Equal(i.ToString(), fields[0]);
            var png = ImageLoader.Load(Path.Combine(folder, $"{i}.png"));
            Assert.Equal((h, w), (png.Height, png.Width));
            var mask = new bool[h * w];
            for (int p = 0; p < mask.Length; p++)
            {
                byte v = png.Pixels[3 * p];
                Assert.True(v is 0 or 255, $"{i}.png holds grey level {v}");
                mask[p] = v == 255;
            }
            Assert.Equal(mask.Count(m => m).ToString(), fields[1]);
            var box = MaskBoxes.FromMask(mask, h, w);
            Assert.Equal([box.X0.ToString(), box.Y0.ToString(), box.Width.ToString(), box.Height.ToString()], fields[2..6]);
            Assert.Equal(["0", "0", w.ToString(), h.ToString()], fields[10..14]);
            Assert.All(fields[6..10], f => Assert.True(f == "nan" || double.TryParse(f, System.Globalization.CultureInfo.InvariantCulture, out _), f));
        }
    }
}
