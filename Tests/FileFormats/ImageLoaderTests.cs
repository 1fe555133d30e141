using SamEngine.Engine;
using System.Text;
using StbImageWriteSharp;
using Xunit.Abstractions;

namespace SamEngine.Tests.FileFormats;

public class ImageLoaderTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sam-image-tests").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [SkippableFact]
    public void PngDecodesExactlyAsPil()
    {
        var expected = Npy.Read(Fixtures.Require("sam-mini/shapes/image_rgb.npy"));
        var image = ImageLoader.Load(Fixtures.Require("sam-mini/shapes.png"));
        Assert.Equal(expected.Shape, new[] { image.Height, image.Width, 3 });
        Assert.Equal(expected.ToBytes(), image.Pixels);
    }

    /// <summary>The fixture's photos, decoded by PIL on libjpeg-turbo (which cv2 uses too): ours must equal them byte for byte.</summary>
    [SkippableTheory]
    [InlineData("truck")]
    [InlineData("groceries")]
    public void JpegPhotosDecodeExactlyAsLibjpegTurbo(string name)
    {
        var comparison = PixelComparison.Compare(ImageLoader.Load(Fixtures.Require($"sam-mini/{name}.jpg")),
            Npy.Read(Fixtures.Require($"sam-mini/{name}/image_rgb.npy")));
        output.WriteLine($"{name}.jpg: {comparison}");
        Assert.True(comparison.Equal, comparison.ToString());
    }

    [Fact]
    public void GreyBecomesRgbAndAlphaIsDropped()
    {
        byte[] grey = [0, 90, 180, 255];
        var g = Write("grey.png", (w, s) => w.WritePng(grey, 2, 2, ColorComponents.Grey, s));
        Assert.Equal(new byte[] { 0, 0, 0, 90, 90, 90, 180, 180, 180, 255, 255, 255 }, ImageLoader.Load(g).Pixels);

        byte[] rgba = [10, 20, 30, 0, 40, 50, 60, 128];
        var a = Write("rgba.png", (w, s) => w.WritePng(rgba, 2, 1, ColorComponents.RedGreenBlueAlpha, s));
        Assert.Equal(new byte[] { 10, 20, 30, 40, 50, 60 }, ImageLoader.Load(a).Pixels);
    }

    /// <summary>
    /// Interlaced (Adam7) PNGs at the depths cv2 reduces or expands: 16-bit RGB to the high byte,
    /// 1-bit grey scaled to 0/255, a 4-bit palette with transparency (alpha dropped).
    /// </summary>
    [Theory]
    [InlineData(2, 16)]
    [InlineData(0, 1)]
    [InlineData(3, 4)]
    public void InterlacedPngOfEveryDepthDecodesAsLibpng(int colorType, int bitDepth)
    {
        const int width = 29, height = 37;
        var rng = new Random(colorType * 100 + bitDepth);
        int channels = colorType == 2 ? 3 : 1, max = (1 << bitDepth) - 1;
        var samples = new int[height, width, channels];
        foreach (var (y, x, c) in from y in Enumerable.Range(0, height) from x in Enumerable.Range(0, width) from c in Enumerable.Range(0, channels) select (y, x, c))
            samples[y, x, c] = rng.Next(max + 1);
        var palette = Enumerable.Range(0, 48).Select(_ => (byte)rng.Next(256)).ToArray();
        var expected = new byte[height * width * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                    expected[(y * width + x) * 3 + c] = colorType switch
                    {
                        2 => (byte)(samples[y, x, c] >> 8),
                        0 => (byte)(samples[y, x, 0] * 255),
                        _ => palette[samples[y, x, 0] * 3 + c],
                    };
        var path = Path.Combine(dir, $"adam7-{colorType}-{bitDepth}.png");
        File.WriteAllBytes(path, Adam7Png(samples, colorType, bitDepth, colorType == 3 ? palette : null));
        Assert.Equal(expected, ImageLoader.Load(path).Pixels);
    }

    /// <summary>A PNG with Adam7 interlacing: the seven passes' rows, filter type 0, in one IDAT.</summary>
    static byte[] Adam7Png(int[,,] samples, int colorType, int bitDepth, byte[]? palette)
    {
        int height = samples.GetLength(0), width = samples.GetLength(1), channels = samples.GetLength(2);
        (int X, int Y, int Dx, int Dy)[] passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];
        var raw = new MemoryStream();
        foreach (var (x0, y0, dx, dy) in passes)
        {
            if (x0 >= width || y0 >= height) continue;
            for (int y = y0; y < height; y += dy)
            {
                raw.WriteByte(0);
                int acc = 0, bits = 0;
                for (int x = x0; x < width; x += dx)
                    for (int c = 0; c < channels; c++)
                    {
                        if (bitDepth == 16) { raw.WriteByte((byte)(samples[y, x, c] >> 8)); raw.WriteByte((byte)samples[y, x, c]); continue; }
                        acc = (acc << bitDepth) | samples[y, x, c];
                        bits += bitDepth;
                        if (bits == 8) { raw.WriteByte((byte)acc); acc = bits = 0; }
                    }
                if (bits > 0) raw.WriteByte((byte)(acc << (8 - bits)));
            }
        }
        var idat = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(idat, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);
        var png = new List<byte>([137, 80, 78, 71, 13, 10, 26, 10]);
        void Chunk(string type, byte[] data)
        {
            png.AddRange(BigEndian(data.Length));
            var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.AddRange(typed);
            png.AddRange(BigEndian((int)SamEngine.FileFormats.Crc32.Compute(typed)));
        }
        Chunk("IHDR", [.. BigEndian(width), .. BigEndian(height), (byte)bitDepth, (byte)colorType, 0, 0, 1]);
        if (palette != null)
        {
            Chunk("PLTE", palette);
            Chunk("tRNS", [0, 128, 255]);
        }
        Chunk("IDAT", idat.ToArray());
        Chunk("IEND", []);
        return [.. png];
    }

    [Fact]
    public void BmpAndTgaDecodeExactly()
    {
        var rgb = new byte[3 * 5 * 3];
        new Random(3).NextBytes(rgb);
        var bmp = Write("x.bmp", (w, s) => w.WriteBmp(rgb, 5, 3, ColorComponents.RedGreenBlue, s));
        var tga = Write("x.tga", (w, s) => w.WriteTga(rgb, 5, 3, ColorComponents.RedGreenBlue, s));
        foreach (var path in new[] { bmp, tga })
        {
            var image = ImageLoader.Load(path);
            Assert.Equal((3, 5), (image.Height, image.Width));
            Assert.Equal(rgb, image.Pixels);
        }
    }

    /// <summary>A 2×1 GIF with a two-colour palette: LZW codes clear, 0, 1, end at 3 bits each.</summary>
    [Fact]
    public void GifDecodesItsFirstFrame()
    {
        byte[] gif =
        [
            .."GIF89a"u8, 2, 0, 1, 0, 0x80, 0, 0,   // 2×1, global colour table of 2 entries
            10, 20, 30, 200, 100, 50,               // palette
            (byte)',', 0, 0, 0, 0, 2, 0, 1, 0, 0,   // image descriptor
            2, 2, 0x44, 0x0A, 0,                    // LZW minimum code size 2, one 2-byte sub-block
            (byte)';',
        ];
        var path = Path.Combine(dir, "two.gif");
        File.WriteAllBytes(path, gif);
        Assert.Equal(new byte[] { 10, 20, 30, 200, 100, 50 }, ImageLoader.Load(path).Pixels);
    }

    [Fact]
    public void MissingFileIsAOneLineError() => AssertRefused(Path.Combine(dir, "nope.jpg"), "not found");

    [Fact]
    public void EmptyFileIsRefused()
    {
        var path = Path.Combine(dir, "empty.png");
        File.WriteAllBytes(path, []);
        AssertRefused(path, "empty");
    }

    [Fact]
    public void GarbageIsRefused()
    {
        var path = Path.Combine(dir, "garbage.jpg");
        File.WriteAllText(path, "this is not an image, just some text that is long enough to look like a header");
        AssertRefused(path, "");
    }

    [Fact]
    public void TruncatedPngIsRefused()
    {
        var rgb = new byte[64 * 64 * 3];
        new Random(5).NextBytes(rgb);
        var full = Write("full.png", (w, s) => w.WritePng(rgb, 64, 64, ColorComponents.RedGreenBlue, s));
        var bytes = File.ReadAllBytes(full);
        var path = Path.Combine(dir, "cut.png");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        AssertRefused(path, "corrupt");
    }

    [Theory]
    [InlineData("bmp")]
    [InlineData("png")]
    public void ZeroByZeroIsRefused(string format)
    {
        var path = Path.Combine(dir, "nothing." + format);
        File.WriteAllBytes(path, format == "bmp" ? Bmp(0, 0) : PngHeader(0, 0));
        AssertRefused(path, "no pixels");
    }

    [SkippableFact]
    public void TruncatedJpegIsRefused()
    {
        var bytes = File.ReadAllBytes(Fixtures.Require("sam-mini/truck.jpg"));
        var path = Path.Combine(dir, "cut.jpg");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        AssertRefused(path, "corrupt");
    }

    /// <summary>Structures that claim more bytes than the file has: refused before stb sizes a buffer by the claim or reads zeros past the end.</summary>
    [Fact]
    public void ClaimsBeyondTheFileAreRefused()
    {
        var rgb = new byte[5 * 3 * 3];
        var bmp = File.ReadAllBytes(Write("small.bmp", (w, s) => w.WriteBmp(rgb, 5, 3, ColorComponents.RedGreenBlue, s)));
        BitConverter.GetBytes(100000).CopyTo(bmp, 18);   // width: 100000 × 3 pixels from a 102-byte file
        var path = Path.Combine(dir, "wide.bmp");
        File.WriteAllBytes(path, bmp);
        AssertRefused(path, "corrupt BMP (100000×3 pixels of 24 bits need");

        var png = File.ReadAllBytes(Write("small.png", (w, s) => w.WritePng(rgb, 5, 3, ColorComponents.RedGreenBlue, s)));
        int idat = png.AsSpan().IndexOf("IDAT"u8) - 4;
        BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(0x7FFFFFF0)).CopyTo(png, idat);
        path = Path.Combine(dir, "claims.png");
        File.WriteAllBytes(path, png);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        AssertRefused(path, "corrupt PNG (chunk IDAT claims 2147483632 bytes");
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 16 << 20);

        // A damaged critical chunk: libpng (cv2) refuses it; stb would decode it.
        png = File.ReadAllBytes(Path.Combine(dir, "small.png"));
        png[png.AsSpan().IndexOf("IDAT"u8) + 6] ^= 0x10;
        path = Path.Combine(dir, "damaged.png");
        File.WriteAllBytes(path, png);
        AssertRefused(path, "corrupt PNG (chunk IDAT fails its CRC check)");
    }

    /// <summary>A header claiming 40000×40000 must be refused from the header alone, before any pixel buffer exists.</summary>
    [Theory]
    [InlineData("bmp")]
    [InlineData("png")]
    [InlineData("jpg")]
    public void HugeHeaderIsRefusedBeforeAllocating(string format)
    {
        var path = Path.Combine(dir, "huge." + format);
        File.WriteAllBytes(path, format switch { "bmp" => Bmp(40000, 40000), "png" => PngHeader(40000, 40000), _ => JpegHeader(40000, 40000) });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SamException>(() => ImageLoader.Load(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{format}: {e.Message} ({allocated} bytes allocated)");
        Assert.Contains(path, e.Message);
        Assert.Contains("40000", e.Message);
        Assert.True(allocated < 16 << 20, $"{allocated} bytes allocated while refusing");
    }

    void AssertRefused(string path, string expected)
    {
        var e = Assert.Throws<SamException>(() => ImageLoader.Load(path));
        output.WriteLine(e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    string Write(string name, Action<ImageWriter, Stream> write)
    {
        var path = Path.Combine(dir, name);
        using (var stream = File.Create(path)) write(new ImageWriter(), stream);
        return path;
    }

    /// <summary>A 24-bit BMP header (BITMAPINFOHEADER) with the given size and one row of pixel data at most.</summary>
    static byte[] Bmp(int width, int height)
    {
        var b = new byte[54 + 16];
        "BM"u8.CopyTo(b);
        BitConverter.GetBytes(b.Length).CopyTo(b, 2);
        BitConverter.GetBytes(54).CopyTo(b, 10);
        BitConverter.GetBytes(40).CopyTo(b, 14);
        BitConverter.GetBytes(width).CopyTo(b, 18);
        BitConverter.GetBytes(height).CopyTo(b, 22);
        BitConverter.GetBytes((short)1).CopyTo(b, 26);
        BitConverter.GetBytes((short)24).CopyTo(b, 28);
        return b;
    }

    /// <summary>A PNG signature and IHDR chunk (8-bit RGB) claiming the given size, with no image data.</summary>
    static byte[] PngHeader(int width, int height)
    {
        var b = new List<byte>([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, .. "IHDR"u8]);
        b.AddRange(BigEndian(width));
        b.AddRange(BigEndian(height));
        b.AddRange([8, 2, 0, 0, 0]);
        b.AddRange(BigEndian((int)SamEngine.FileFormats.Crc32.Compute(b.ToArray().AsSpan(12))));
        return [.. b];
    }

    /// <summary>SOI, a JFIF APP0 segment and a baseline SOF0 frame header (3 components) claiming the given size.</summary>
    static byte[] JpegHeader(int width, int height) =>
    [
        0xFF, 0xD8,
        0xFF, 0xE0, 0, 16, .."JFIF\0"u8, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        0xFF, 0xC0, 0, 17, 8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 3,
        1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0,
    ];


    static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
}
