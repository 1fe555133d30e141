using System.Text.RegularExpressions;
using SamEngine.Engine;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>The AMG outputs in the reference's exact text: Python float formatting, json.dump records, metadata.csv, shards.</summary>
public class AmgOutputFormatTests
{
    // Expected strings printed by Python 3 (repr / json.dumps).
    [Theory]
    [InlineData(0.0, "0.0", "0.0")]
    [InlineData(-0.0, "-0.0", "-0.0")]
    [InlineData(1e-05, "1e-05", "1e-05")]
    [InlineData(1.5e-05, "1.5e-05", "1.5e-05")]
    [InlineData(0.0001, "0.0001", "0.0001")]
    [InlineData(0.00012345, "0.00012345", "0.00012345")]
    [InlineData(1e16, "1e+16", "1e+16")]
    [InlineData(1234567890123456.0, "1234567890123456.0", "1234567890123456.0")]
    [InlineData(12345678901234567.0, "1.2345678901234568e+16", "1.2345678901234568e+16")]
    [InlineData(150.75, "150.75", "150.75")]
    [InlineData(483.0, "483.0", "483.0")]
    [InlineData(100.0, "100.0", "100.0")]
    [InlineData(123456.789, "123456.789", "123456.789")]
    [InlineData(1e22, "1e+22", "1e+22")]
    [InlineData(5e-324, "5e-324", "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308")]
    [InlineData(-2.5e-7, "-2.5e-07", "-2.5e-07")]
    [InlineData(double.NaN, "nan", "NaN")]
    [InlineData(double.PositiveInfinity, "inf", "Infinity")]
    public void FloatsPrintAsPython(double value, string str, string json)
    {
        Assert.Equal(str, PyFloat.Str(value));
        Assert.Equal(json, PyFloat.Json(value));
    }

    [Fact]
    public void Float32ScoresPrintAsTheirDoubleValue()
    {
        // .item() of a float32 tensor is the exact double of the float, which Python prints in full.
        Assert.Equal("0.10000000149011612", PyFloat.Str(0.1f));
        Assert.Equal("0.949999988079071", PyFloat.Str(0.95f));
    }

    /// <summary>
    /// The fixture's records, rebuilt as ours and serialised, give the fixture's text except for
    /// the scores (float64 there, float32 here). Its boxes are floats ("268.0"), its crop boxes integers.
    /// </summary>
    [SkippableFact]
    public void JsonMatchesTheReferenceText()
    {
        var text = File.ReadAllText(Fixtures.Require("sam-mini/shapes/amg.json"));
        var records = AmgVerification.Records(text);
        var result = new AmgResult
        {
            Height = 600,
            Width = 900,
            OutputMode = AmgOutputMode.UncompressedRle,
            BoxesAreFloat = true,
            CropBoxesAreFloat = false,
            Timings = new AmgTimings(default, default, default, 5, 0, 0),
            Masks = records.Select(r => new MaskRecord
            {
                Rle = new Rle(600, 900, r.Counts),
                Box = new BoxXyxy((int)r.Bbox[0], (int)r.Bbox[1], (int)(r.Bbox[0] + r.Bbox[2]), (int)(r.Bbox[1] + r.Bbox[3])),
                PredictedIou = (float)r.PredictedIou,
                PointCoords = r.Point,
                StabilityScore = (float)r.StabilityScore,
                CropBox = new BoxXyxy(r.CropBox[0], r.CropBox[1], r.CropBox[0] + r.CropBox[2], r.CropBox[1] + r.CropBox[3]),
            }).ToArray(),
        };
        static string Scoreless(string s) => Regex.Replace(s, "\"(predicted_iou|stability_score)\": [^,]+", "\"$1\": _");
        var ours = AmgJson.Serialize(result);
        Assert.Equal(Scoreless(text), Scoreless(ours));
        Assert.Contains("\"stability_score\": NaN", ours);
        var strict = AmgJson.Serialize(result, strict: true);
        Assert.Equal(Scoreless(ours), Scoreless(strict));
        Assert.Contains("\"stability_score\": null", strict);
        Assert.Equal(result.Masks.Count, System.Text.Json.JsonDocument.Parse(strict).RootElement.GetArrayLength());
        Assert.Throws<InvalidOperationException>(() => AmgJson.Serialize(new AmgResult
        {
            Height = 1, Width = 1, Masks = [], OutputMode = AmgOutputMode.BinaryMask, Timings = result.Timings,
        }));
    }

    [Fact]
    public void CocoSegmentationIsEscapedJsonString()
    {
        // Counts whose COCO string holds a backslash (character 92 = 48 + 44): json.dumps escapes it.
        var rle = new Rle(1, 12, [0, 12]);
        var counts = CocoRle.Encode(rle.Counts);
        var result = new AmgResult
        {
            Height = 1, Width = 12, OutputMode = AmgOutputMode.CocoRle, Timings = new AmgTimings(default, default, default, 1, 0, 0),
            Masks = [new MaskRecord { Rle = rle, CocoCounts = counts, Box = new BoxXyxy(0, 0, 11, 0), PredictedIou = 0.5f,
                PointCoords = (6.0, 0.5), StabilityScore = 1f, CropBox = new BoxXyxy(0, 0, 12, 1) }],
        };
        Assert.Equal("0<", counts);
        Assert.Equal("[{\"segmentation\": {\"size\": [1, 12], \"counts\": \"0<\"}, \"area\": 12, \"bbox\": [0, 0, 11, 0], "
            + "\"predicted_iou\": 0.5, \"point_coords\": [[6.0, 0.5]], \"stability_score\": 1.0, \"crop_box\": [0, 0, 12, 1]}]",
            AmgJson.Serialize(result));
        var slash = new MaskRecord { Rle = new Rle(1, 44, [44]), CocoCounts = CocoRle.Encode([44]), Box = default, PredictedIou = 1,
            PointCoords = (0, 0), StabilityScore = float.NaN, CropBox = new BoxXyxy(0, 0, 44, 1) };
        Assert.Equal("\\1", slash.CocoCounts);   // 44 = 12 + 32·1: a continuation character 48 + 32 + 12
        Assert.Contains("\"counts\": \"\\\\1\"", AmgJson.Serialize(new AmgResult
        {
            Height = 1, Width = 44, OutputMode = AmgOutputMode.CocoRle, Timings = result.Timings, Masks = [slash],
        }));
    }

    [Fact]
    public void MetadataRowsAreWriteMasksToFolders()
    {
        var record = new MaskRecord
        {
            Rle = new Rle(4, 6, [5, 2, 2, 2, 13]), Box = new BoxXyxy(1, 1, 2, 2), PredictedIou = 0.95f, PointCoords = (1.5, 1.25),
            StabilityScore = float.NaN, CropBox = new BoxXyxy(0, 0, 6, 4),
        };
        var result = new AmgResult
        {
            Height = 4, Width = 6, OutputMode = AmgOutputMode.UncompressedRle, Timings = new AmgTimings(default, default, default, 1, 0, 0),
            Masks = [record, record], BoxesAreFloat = true,
        };
        Assert.Equal(
            "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h\n"
            + "0,4,1.0,1.0,1.0,1.0,1.5,1.25,0.949999988079071,nan,0,0,6,4\n"
            + "1,4,1.0,1.0,1.0,1.0,1.5,1.25,0.949999988079071,nan,0,0,6,4",
            AmgFolder.Metadata(result));
    }

    [Fact]
    public void ShardsSplitTheSortedListWithoutOverlap()
    {
        var items = Enumerable.Range(0, 11).Select(i => $"img{i:00}.png").ToArray();
        var shards = Enumerable.Range(0, 3).Select(i => new AmgShard(i, 3).Select(items).ToArray()).ToArray();
        Assert.Equal(["img00.png", "img03.png", "img06.png", "img09.png"], shards[0]);
        Assert.Equal(["img01.png", "img04.png", "img07.png", "img10.png"], shards[1]);
        Assert.Equal(["img02.png", "img05.png", "img08.png"], shards[2]);
        Assert.Equal(items, shards.SelectMany(s => s).Order(StringComparer.Ordinal));
        Assert.Equal(new AmgShard(2, 5), AmgShard.Parse("2/5"));
        Assert.Equal(items, AmgShard.All.Select(items));
        foreach (var bad in new[] { "2/2", "1", "-1/3", "a/3", "0/0", "1/2/3", "" })
            Assert.Throws<SamException>(() => AmgShard.Parse(bad));
    }
}
