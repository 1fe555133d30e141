using System.Buffers.Binary;
using SamEngine.Engine;
using Xunit.Abstractions;

namespace SamEngine.Tests.FileFormats;

/// <summary>
/// JPEG cases the fixtures hold no file for, made from the fixtures' files: every EXIF
/// orientation, Motion-JPEG frames without Huffman tables, and corrupt or truncated data, which
/// must be a one-line refusal and never another exception or a hang.
/// </summary>
public class JpegEdgeCaseTests(ITestOutputHelper output)
{
    /// <summary>exif_orientation_*.jpg differ only in the orientation value (big-endian, its low byte here).</summary>
    const int OrientationByte = 49;

    [SkippableTheory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)] [InlineData(6)] [InlineData(7)] [InlineData(8)]
    public void EveryExifOrientationIsAppliedAsCv2Does(int orientation)
    {
        var bytes = File.ReadAllBytes(Fixtures.Require("images/exif_orientation_3.jpg"));
        Assert.Equal(3, bytes[OrientationByte]);
        bytes[OrientationByte] = 1;
        var upright = ImageLoader.Decode(bytes, "upright");
        bytes[OrientationByte] = (byte)orientation;
        var shown = ImageLoader.Decode(bytes, $"orientation {orientation}");

        // cv2's ApplyExifOrientation: 2 flip(1), 3 flip(-1), 4 flip(0), 5 transpose, 6 transpose+flip(1), 7 transpose+flip(-1), 8 transpose+flip(0).
        var expected = ToGrid(upright);
        if (orientation >= 5) expected = Transpose(expected);
        if (orientation is 2 or 3 or 6 or 7) expected = FlipLeftRight(expected);
        if (orientation is 3 or 4 or 7 or 8) expected = FlipTopBottom(expected);
        Assert.Equal(expected.Length, shown.Height);
        Assert.Equal(expected[0].Length, shown.Width);
        Assert.Equal(expected.SelectMany(row => row.SelectMany(p => p)).ToArray(), shown.Pixels);
    }

    [SkippableFact]
    public void OrientationsOutsideOneToEightChangeNothing()
    {
        var bytes = File.ReadAllBytes(Fixtures.Require("images/exif_orientation_3.jpg"));
        bytes[OrientationByte] = 1;
        var upright = ImageLoader.Decode(bytes, "upright").Pixels;
        foreach (byte value in new byte[] { 0, 9, 255 })
        {
            bytes[OrientationByte] = value;
            Assert.Equal(upright, ImageLoader.Decode(bytes, $"orientation {value}").Pixels);
        }
    }

    [SkippableFact]
    public void MotionJpegWithoutHuffmanTablesGetsTheStandardOnes()
    {
        var path = Fixtures.Require("images/baseline_420_q75.jpg");
        var bytes = File.ReadAllBytes(path);
        var tables = Segments(bytes).Where(s => s.Marker == 0xC4).ToList();
        Assert.NotEmpty(tables);
        // The file's tables are Annex K's, so leaving them out must change nothing.
        HuffmanTable[] standard = [HuffmanTable.Standard.DcLuminance(), HuffmanTable.Standard.AcLuminance(), HuffmanTable.Standard.DcChrominance(), HuffmanTable.Standard.AcChrominance()];
        var defined = tables.SelectMany(t => DhtTables(bytes.AsSpan(t.Start + 4, t.Length - 2).ToArray())).ToList();
        Assert.Equal(standard.Select(t => Convert.ToHexString([.. t.Counts, .. t.Symbols])), defined);

        var stripped = bytes.ToList();
        foreach (var t in tables.OrderByDescending(t => t.Start)) stripped.RemoveRange(t.Start, t.Length + 2);
        var comparison = PixelComparison.Compare(ImageLoader.Decode([.. stripped], "no DHT"), Npy.Read(path + ".rgb.npy"));
        Assert.True(comparison.Equal, comparison.ToString());
    }

    /// <summary>Bytes flipped, runs of FF inserted and the file cut short, thousands of times: each decodes or is refused in one line.</summary>
    [SkippableTheory]
    [InlineData("baseline_420_q75.jpg")]
    [InlineData("progressive_420.jpg")]
    [InlineData("arithmetic.jpg")]
    [InlineData("progressive_arith_gray.jpg")]
    [InlineData("restart_markers.jpg")]
    [InlineData("tiny_7x5.jpg")]
    public void CorruptDataIsDecodedOrRefusedInOneLine(string file)
    {
        var original = File.ReadAllBytes(Fixtures.Require($"images/{file}"));
        var rng = new Random(file.Length);
        int refused = 0, decoded = 0;
        var reasons = new Dictionary<string, int>();
        for (int n = 0; n < 400; n++)
        {
            var bytes = (byte[])original.Clone();
            switch (n % 4)
            {
                case 0:
                    for (int k = rng.Next(1, 5); k > 0; k--) bytes[rng.Next(2, bytes.Length)] = (byte)rng.Next(256);
                    break;
                case 1:
                    bytes[rng.Next(2, bytes.Length)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2:
                    bytes = bytes[..rng.Next(2, bytes.Length)];
                    break;
                default:
                {
                    int at = rng.Next(2, bytes.Length);
                    bytes = [.. bytes[..at], 0xFF, (byte)rng.Next(256), .. bytes[at..]];
                    break;
                }
            }
            try
            {
                var image = ImageLoader.Decode(bytes, "mutant.jpg");
                Assert.Equal((long)image.Width * image.Height * 3, image.Pixels.Length);
                decoded++;
            }
            catch (SamException e)
            {
                Assert.StartsWith("image mutant.jpg: ", e.Message);
                Assert.DoesNotContain('\n', e.Message);
                refused++;
                var reason = e.Message.Split('(')[0];
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }
        }
        output.WriteLine($"{file}: {decoded} decoded, {refused} refused: " + string.Join("; ", reasons.Select(r => $"{r.Value}× {r.Key}")));
        Assert.True(refused > 0);
    }

    static IEnumerable<(int Marker, int Start, int Length)> Segments(byte[] b)
    {
        for (int p = 2; p + 4 <= b.Length && b[p] == 0xFF && b[p + 1] != 0xDA;)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(p + 2));
            yield return (b[p + 1], p, length);
            p += 2 + length;
        }
    }

    /// <summary>Each table of a DHT payload as hex of its 16 counts and symbols.</summary>
    static IEnumerable<string> DhtTables(byte[] payload)
    {
        for (int p = 0; p < payload.Length;)
        {
            int total = payload.AsSpan(p + 1, 16).ToArray().Sum(c => c);
            yield return Convert.ToHexString(payload.AsSpan(p + 1, 16 + total));
            p += 17 + total;
        }
    }

    static byte[][][] ToGrid(RgbImage image) =>
        Enumerable.Range(0, image.Height).Select(r => Enumerable.Range(0, image.Width).Select(c => image.Pixels.AsSpan((r * image.Width + c) * 3, 3).ToArray()).ToArray()).ToArray();

    static byte[][][] Transpose(byte[][][] g) => Enumerable.Range(0, g[0].Length).Select(c => g.Select(row => row[c]).ToArray()).ToArray();

    static byte[][][] FlipLeftRight(byte[][][] g) => g.Select(row => row.Reverse().ToArray()).ToArray();

    static byte[][][] FlipTopBottom(byte[][][] g) => g.Reverse().ToArray();
}
