using System.Text.Json.Nodes;
using SamEngine.Engine;
using Xunit.Abstractions;

namespace SamEngine.Tests.FileFormats;

/// <summary>
/// Every case of ../shared/fixtures/images: files whose RGB bytes must equal cv2.imread's
/// (FILE.rgb.npy) byte for byte, and files that must be refused with a one-line error.
/// </summary>
public class ImageFixtureTests(ITestOutputHelper output)
{
    const string Absent = "(image fixtures absent)";

    public static IEnumerable<object[]> Cases(string expect)
    {
        var index = Fixtures.Root == null ? null : Path.Combine(Fixtures.Root, "images", "index.json");
        if (index == null || !File.Exists(index))
        {
            yield return [Absent];
            yield break;
        }
        foreach (var c in JsonNode.Parse(File.ReadAllText(index))!["cases"]!.AsArray())
            if ((string?)c!["expect"] == expect) yield return [(string)c["file"]!];
    }

    public static IEnumerable<object[]> PixelCases() => Cases("pixels");
    public static IEnumerable<object[]> ErrorCases() => Cases("error");

    [SkippableTheory]
    [MemberData(nameof(PixelCases))]
    public void DecodesAsCv2Imread(string file)
    {
        var path = Fixtures.Require(file == Absent ? "images/index.json" : $"images/{file}");
        var comparison = PixelComparison.Compare(ImageLoader.Load(path), Npy.Read(path + ".rgb.npy"));
        output.WriteLine($"{file}: {comparison}");
        Assert.True(comparison.Equal, $"{file}: {comparison}");
        Assert.True(comparison.Bytes > 0);
    }

    [SkippableTheory]
    [MemberData(nameof(ErrorCases))]
    public void RefusesWithOneLine(string file)
    {
        var path = Fixtures.Require(file == Absent ? "images/index.json" : $"images/{file}");
        var e = Assert.Throws<SamException>(() => ImageLoader.Load(path));
        output.WriteLine(e.Message);
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
