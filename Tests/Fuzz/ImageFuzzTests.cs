using StbImageWriteSharp;
using Xunit.Abstractions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// JPEG, PNG and BMP files through <see cref="ImageLoader.Decode"/>: the small fixture images
/// (when ../shared/fixtures is there) and small images written here with StbImageWriteSharp,
/// mutated. Half the byte positions fall in the header (a JPEG's markers up to its first scan,
/// a PNG's chunks before IDAT's data, a BMP's headers).
/// </summary>
[Collection("fuzz")]
public class ImageFuzzTests(ITestOutputHelper output)
{
    static readonly string[] JpegFixtures =
    [
        "tiny_7x5.jpg", "one_pixel.jpg", "baseline_420_q75.jpg", "progressive_420.jpg", "arithmetic.jpg", "restart_markers.jpg",
        "progressive_arith_gray.jpg", "sampling_411.jpg", "sampling_420_422_mix.jpg", "grayscale.jpg", "exif_orientation_6.jpg",
        "optimized_huffman.jpg", "cmyk_adobe.jpg",
    ];

    static readonly string[] PngFixtures = ["gray8.png", "palette.png", "rgb16.png", "gray16.png"];
    static readonly string[] BmpFixtures = ["bmp24.bmp"];

    [Fact]
    public void Jpeg() => Fuzz("jpeg", ".jpg", JpegFixtures, Generated(".jpg"), FuzzBudget.Share(0.20), JpegHeaderEnd);

    [Fact]
    public void Png() => Fuzz("png", ".png", PngFixtures, Generated(".png"), FuzzBudget.Share(0.11), PngHeaderEnd);

    [Fact]
    public void Bmp() => Fuzz("bmp", ".bmp", BmpFixtures, Generated(".bmp"), FuzzBudget.Share(0.06), b => Math.Min(b.Length, 138));

    void Fuzz(string format, string ext, string[] fixtureNames, List<(string, byte[])> generated, int cases, Func<byte[], int> headerEnd)
    {
        var seeds = new List<(string Name, byte[] Bytes)>();
        if (Fixtures.Root != null)
            foreach (var name in fixtureNames)
            {
                var path = Path.Combine(Fixtures.Root, "images", name);
                if (File.Exists(path)) seeds.Add((name, File.ReadAllBytes(path)));
            }
        if (seeds.Count == 0) output.WriteLine($"fuzz {format}: fixture images not found; only generated seeds");
        seeds.AddRange(generated);
        var bytes = seeds.Select(s => s.Bytes).ToList();
        var inputs = seeds.Select((s, i) => new FuzzInput(i, s.Name, "none", "input" + ext, s.Bytes)).ToList();

        var run = new FuzzRun(format, output);
        run.Run(inputs, cases, r =>
        {
            int i = r.Next(seeds.Count);
            var (mutated, what) = Mutator.Mutate(r, seeds[i].Bytes, bytes, 0, headerEnd(seeds[i].Bytes));
            return new FuzzInput(i, seeds[i].Name, what, "input" + ext, mutated);
        }, input =>
        {
            var image = ImageLoader.Decode(input.Bytes, "fuzz" + ext);
            if ((long)image.Width * image.Height > ImageLoader.MaxPixels || image.Pixels.Length != (long)image.Width * image.Height * 3)
                throw new FuzzFailure("postcondition: inconsistent image", $"decoded {image.Width}×{image.Height} with {image.Pixels.Length} bytes", "(accepted by ImageLoader.Decode)");
            // An image the format lets a few bytes describe (an arithmetic-coded JPEG's flat area,
            // libjpeg decodes it too) costs its pixels: the RGB result, coefficients and planes.
            FuzzRun.AllowForResult(12L * image.Width * image.Height);
        });
        run.AssertClean();
    }

    /// <summary>Small images of every channel count, odd sizes (row padding, partial MCUs) included.</summary>
    static List<(string, byte[])> Generated(string ext)
    {
        var list = new List<(string, byte[])>();
        var rng = new Random(12345);
        (int W, int H, ColorComponents C)[] shapes =
        [
            (1, 1, ColorComponents.RedGreenBlue), (7, 5, ColorComponents.RedGreenBlue), (16, 16, ColorComponents.RedGreenBlue),
            (5, 3, ColorComponents.Grey), (4, 4, ColorComponents.RedGreenBlueAlpha), (9, 2, ColorComponents.GreyAlpha), (17, 9, ColorComponents.RedGreenBlue),
        ];
        foreach (var (w, h, c) in shapes)
        {
            int n = c switch { ColorComponents.Grey => 1, ColorComponents.GreyAlpha => 2, ColorComponents.RedGreenBlue => 3, _ => 4 };
            var pixels = new byte[w * h * n];
            // Smooth content with some noise: compresses like a photo, not like noise or a flat fill.
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int k = 0; k < n; k++)
                        pixels[(y * w + x) * n + k] = (byte)(x * 13 + y * 7 + k * 50 + rng.Next(8));
            var ms = new MemoryStream();
            var writer = new ImageWriter();
            switch (ext)
            {
                case ".png": writer.WritePng(pixels, w, h, c, ms); break;
                case ".bmp": writer.WriteBmp(pixels, w, h, c, ms); break;
                default: writer.WriteJpg(pixels, w, h, c, ms, w % 2 == 0 ? 90 : 50); break;
            }
            list.Add(($"stb_{w}x{h}x{n}{ext}", ms.ToArray()));
        }
        return list;
    }

    /// <summary>The end of a JPEG's first SOS segment (or of the file).</summary>
    static int JpegHeaderEnd(byte[] b)
    {
        for (int i = 2; i + 3 < b.Length;)
        {
            if (b[i] != 0xFF) return b.Length;
            byte marker = b[i + 1];
            int len = (b[i + 2] << 8) | b[i + 3];
            if (marker == 0xDA) return Math.Min(b.Length, i + 2 + len);
            i += 2 + len;
        }
        return b.Length;
    }

    /// <summary>The offset just past the first IDAT chunk's length and type (or of the file).</summary>
    static int PngHeaderEnd(byte[] b)
    {
        for (int i = 8; i + 8 <= b.Length;)
        {
            int len = (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
            if (b[i + 4] == 'I' && b[i + 5] == 'D' && b[i + 6] == 'A' && b[i + 7] == 'T') return i + 8;
            if (len < 0) break;
            i += 12 + len;
        }
        return Math.Min(b.Length, 64);
    }
}
