using System.Text;
using SamEngine.Engine;

namespace SamEngine.Tests.FileFormats;

public class NpyTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("sam-npy-tests").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string PathOf(string name) => Path.Combine(dir, name);

    public static TheoryData<string> Types => ["u1", "b1", "i1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"];

    [Theory]
    [MemberData(nameof(Types))]
    public void RoundTripsEveryType(string kind)
    {
        var rnd = new Random(kind.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        int[] shape = [2, 3, 5];
        Array data = kind switch
        {
            "u1" => Fill(30, _ => (byte)rnd.Next(256)),
            "b1" => Fill(30, _ => rnd.Next(2) == 1),
            "i1" => Fill(30, _ => (sbyte)rnd.Next(-128, 128)),
            "i2" => Fill(30, _ => (short)rnd.Next(short.MinValue, short.MaxValue)),
            "u2" => Fill(30, _ => (ushort)rnd.Next(ushort.MaxValue)),
            "i4" => Fill(30, _ => rnd.Next(int.MinValue, int.MaxValue)),
            "u4" => Fill(30, _ => (uint)rnd.NextInt64(uint.MaxValue)),
            "i8" => Fill(30, _ => rnd.NextInt64(long.MinValue, long.MaxValue)),
            "u8" => Fill(30, _ => (ulong)rnd.NextInt64()),
            "f4" => Fill(30, i => i == 0 ? float.NaN : (float)rnd.NextDouble() - 0.5f),
            _ => Fill(30, i => i == 0 ? double.NegativeInfinity : rnd.NextDouble() * 1e300),
        };
        var path = PathOf($"a-{kind}.npy");
        Npy.Write(path, new NpyArray(data, shape));
        var back = Npy.Read(path);

        Assert.Equal(shape, back.Shape);
        Assert.Equal(kind, back.DType.Descr()[1..]);
        Assert.Equal(new NpyArray(data, shape).Bytes.ToArray(), back.Bytes.ToArray());
        Assert.Equal(data.GetType(), back.Data.GetType());
        Assert.Equal(0, new FileInfo(path).Length - back.Bytes.Length - HeaderLength(path));
        Assert.Equal(0, HeaderLength(path) % 64);
    }

    [Fact]
    public void ScalarsAndVectorsUseNumpysTupleSyntax()
    {
        Npy.Write(PathOf("s.npy"), new[] { 2.5 });
        Npy.Write(PathOf("v.npy"), new[] { 1f, 2f, 3f }, 3);
        Npy.Write(PathOf("e.npy"), Array.Empty<float>(), 0, 4);
        Assert.Contains("'shape': (), }", Header(PathOf("s.npy")));
        Assert.Contains("'shape': (3,), }", Header(PathOf("v.npy")));
        Assert.Empty(Npy.Read(PathOf("s.npy")).Shape);
        Assert.Equal(2.5, Npy.Read(PathOf("s.npy")).ToDouble()[0]);
        Assert.Equal(new[] { 0, 4 }, Npy.Read(PathOf("e.npy")).Shape);
    }

    /// <summary>Our writer reproduces files NumPy wrote, byte for byte (header padding included).</summary>
    [SkippableTheory]
    [InlineData("sam-mini/shapes/image_rgb.npy")]
    [InlineData("sam-mini/shapes/preprocessed.npy")]
    [InlineData("sam-mini/shapes/cases/single_point/masks.npy")]
    public void RewritesNumpyFilesIdentically(string fixture)
    {
        var source = Fixtures.Require(fixture);
        var copy = PathOf("copy.npy");
        Npy.Write(copy, Npy.Read(source));
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(copy));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ReadsVersion2And3Headers(int version)
    {
        var bytes = Handmade(version, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
        File.WriteAllBytes(PathOf("v.npy"), bytes);
        var a = Npy.Read(PathOf("v.npy"));
        Assert.Equal(new[] { 1, 2, 3, 4 }, a.ToInt32());
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, a.ToFloat());
    }

    [Fact]
    public void WritesVersion2WhenTheHeaderOutgrowsVersion1()
    {
        var shape = Enumerable.Repeat(1, 30000).ToArray();
        Npy.Write(PathOf("deep.npy"), new[] { 7L }, shape);
        Assert.Equal(2, File.ReadAllBytes(PathOf("deep.npy"))[6]);
        Assert.Equal(7, Npy.Read(PathOf("deep.npy")).ToInt32()[0]);
    }

    [Fact]
    public void SignedDataConvertsAsSigned()
    {
        Npy.Write(PathOf("s.npy"), new sbyte[] { -1, 5 }, 2);
        Assert.Equal(new[] { -1f, 5f }, Npy.Read(PathOf("s.npy")).ToFloat());
        Assert.Throws<InvalidOperationException>(() => Npy.Read(PathOf("s.npy")).ToBytes());
    }

    [Fact]
    public void BoolBytesOtherThanOneStillReadAsTrue()
    {
        File.WriteAllBytes(PathOf("b.npy"), Handmade(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", [0, 1, 7]));
        Assert.Equal(new[] { false, true, true }, Npy.Read(PathOf("b.npy")).ToBool());
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran")]
    [InlineData("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", "unsupported dtype '<c8'")]
    [InlineData("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", "unsupported dtype '>f4'")]
    [InlineData("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "unsupported dtype")]
    [InlineData("{'descr': '<f4', 'shape': (2, 2), }", "lacks")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), ", "malformed")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", "invalid dimension")]
    [InlineData("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", "truncated .npy data")]
    public void BadHeadersNameTheFile(string header, string expected)
    {
        var path = PathOf("bad.npy");
        File.WriteAllBytes(path, Handmade(1, header, new byte[16]));
        var e = Assert.Throws<SamException>(() => Npy.Read(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void NonNpyFilesAreRefused()
    {
        File.WriteAllBytes(PathOf("empty.npy"), []);
        File.WriteAllText(PathOf("text.npy"), "hello, world");
        Assert.Contains("empty", Assert.Throws<SamException>(() => Npy.Read(PathOf("empty.npy"))).Message);
        Assert.Contains("not a .npy file", Assert.Throws<SamException>(() => Npy.Read(PathOf("text.npy"))).Message);
        Assert.Contains("not found", Assert.Throws<SamException>(() => Npy.Read(PathOf("missing.npy"))).Message);
    }

    [Fact]
    public void FailedWriteLeavesNoFile()
    {
        var path = PathOf("out.npy");
        Npy.Write(path, new[] { 1f }, 1);
        var before = File.ReadAllBytes(path);
        // A writer that fails halfway must leave the previous file intact and no temporary behind.
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.Write(new byte[100]); throw new InvalidOperationException("boom"); }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir));
        Assert.Throws<SamException>(() => Npy.Write(Path.Combine(dir, "no-such-dir", "x.npy"), new[] { 1f }, 1));
    }

    [Fact]
    public void NpzRoundTrips()
    {
        var path = PathOf("emb.npz");
        Npz.Write(path, new Dictionary<string, NpyArray>
        {
            ["embedding"] = NpyArray.Of(new[] { 1f, 2f, 3f, 4f }, 1, 1, 2, 2),
            ["original_size"] = NpyArray.Of(new long[] { 600, 900 }, 2),
        });
        var arrays = Npz.Read(path);
        Assert.Equal(new[] { "embedding", "original_size" }, arrays.Keys.Order());
        Assert.Equal(new[] { 1, 1, 2, 2 }, arrays["embedding"].Shape);
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, arrays["embedding"].ToFloat());
        Assert.Equal(new[] { 600, 900 }, arrays["original_size"].ToInt32());
        File.WriteAllText(PathOf("bad.npz"), "not a zip");
        Assert.Contains("bad.npz", Assert.Throws<SamException>(() => Npz.Read(PathOf("bad.npz"))).Message);
    }

    static T[] Fill<T>(int n, Func<int, T> f) => Enumerable.Range(0, n).Select(f).ToArray();

    static byte[] Handmade(int version, string dict, byte[] data)
    {
        var header = Encoding.ASCII.GetBytes(dict + "\n");
        var b = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)version, 0 };
        b.AddRange(version == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes(header.Length));
        b.AddRange(header);
        b.AddRange(data);
        return [.. b];
    }

    static int HeaderLength(string path)
    {
        var b = File.ReadAllBytes(path);
        return b[6] == 1 ? 10 + BitConverter.ToUInt16(b, 8) : 12 + BitConverter.ToInt32(b, 8);
    }

    static string Header(string path) => Encoding.ASCII.GetString(File.ReadAllBytes(path), 10, HeaderLength(path) - 10);
}
