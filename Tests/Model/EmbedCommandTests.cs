using System.Buffers.Binary;
using SamEngine.Model;
using SamEngine.Tools;

namespace SamEngine.Tests.Model;

/// <summary>`sam embed` end to end: the fixture image's embedding and its metadata; bad images refused with nothing written.</summary>
public sealed class EmbedCommandTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sam-embed-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (int Code, string Stdout, string Stderr) Sam(params string[] args) => SamCli.Run(args);

    [SkippableFact]
    public void WritesTheFixtureEmbeddingAndItsSizes()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var fixtures = Path.GetDirectoryName(model)!;
        var output = Path.Combine(dir, "emb.npy");
        var (code, _, stderr) = Sam("embed", "--model", model, "--image", Path.Combine(fixtures, "shapes.png"), "-o", output, "--device", "cpu");
        Assert.True(code == 0, stderr);

        var embedding = ImageEmbedding.Load(output);
        Assert.Equal(new[] { 1, 256, 64, 64 }, embedding.Shape);
        Assert.Equal((600, 900), embedding.OriginalSize);
        Assert.Equal((683, 1024), embedding.InputSize);
        Assert.Equal(4, embedding.Config.Depth);
        // shapes.png is lossless, so its decoding is the fixture's image_rgb and the whole path must hold the bound.
        var reference = Npy.Read(Path.Combine(fixtures, "shapes", "image_embedding.npy")).ToFloat();
        var check = StageCheck.Compare("shapes", "image_embedding", embedding.Data, reference, 1.1206304633433725e-06);
        Assert.True(check.Pass, $"rel-L2 {check.RelL2:E2}");
        Assert.Equal([".emb.npy.sam-output.json", "emb.json", "emb.npy"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string, string> BadImages => new()
    {
        { "missing.png", "file not found" },
        { "empty.png", "empty" },
        { "garbage.jpg", "" },
        { "truncated.png", "" },
        { "zero.png", "" },
        { "huge.png", "40000" },
    };

    [Theory]
    [MemberData(nameof(BadImages))]
    public void BadImageIsOneLineErrorAndNoOutput(string name, string mentions)
    {
        var image = Path.Combine(dir, name);
        switch (name)
        {
            case "empty.png": File.WriteAllBytes(image, []); break;
            case "garbage.jpg": File.WriteAllBytes(image, [0xFF, 0xD8, 0xFF, 0xE0, .. Enumerable.Range(0, 500).Select(i => (byte)(i * 37))]); break;
            case "truncated.png": File.WriteAllBytes(image, Png(64, 48)[..60]); break;
            case "zero.png": File.WriteAllBytes(image, Png(0, 0)); break;
            case "huge.png": File.WriteAllBytes(image, Png(40000, 40000)); break;
        }
        var output = Path.Combine(dir, "emb.npy");
        // No checkpoint is needed: the image is refused before the model is read.
        var (code, stdout, stderr) = Sam("embed", "--model", Path.Combine(dir, "model.pth"), "--image", image, "-o", output, "--device", "cpu");

        Assert.Equal(1, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("sam: error: image " + image, lines[0]);
        Assert.Contains(mentions, lines[0]);
        Assert.Empty(stdout);
        Assert.False(File.Exists(output));
        Assert.False(File.Exists(Path.ChangeExtension(output, ".json")));
    }

    /// <summary>A PNG of the given size: signature, IHDR (8-bit RGB), a tiny IDAT that does not hold the pixels, IEND; CRCs valid.</summary>
    static byte[] Png(int width, int height)
    {
        var s = new MemoryStream();
        s.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        Chunk(s, "IHDR", ihdr);
        Chunk(s, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(s, "IEND", []);
        return s.ToArray();

        static void Chunk(Stream s, string type, byte[] data)
        {
            var header = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
            System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
            s.Write(header);
            s.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, SamEngine.FileFormats.Crc32.Compute([.. header[4..], .. data]));
            s.Write(crc);
        }

    }
}
