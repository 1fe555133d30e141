using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using Xunit.Abstractions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// .npy arrays through <see cref="Npy.Read(Stream, string)"/>: small arrays of every dtype and of
/// several ranks written with <see cref="Npy.Write(Stream, NpyArray)"/>, mutated as bytes, or
/// their header dict mutated as text (numbers, brackets, keywords, unicode) and written back with a
/// consistent header length, so the parser and the shape checks see the mutation.
/// </summary>
[Collection("fuzz")]
public class NpyFuzzTests(ITestOutputHelper output)
{
    /// <summary>The seed arrays: every dtype, ranks 0 to 4, an empty one.</summary>
    public static List<(string Name, byte[] Bytes)> Seeds()
    {
        var rng = new Random(7);
        var list = new List<(string, NpyArray)>
        {
            ("u1 (2,3,5)", NpyArray.Of(Fill(30, _ => (byte)rng.Next(256)), 2, 3, 5)),
            ("b1 (3,4)", NpyArray.Of(Fill(12, _ => rng.Next(2) == 1), 3, 4)),
            ("i1 (7,)", NpyArray.Of(Fill(7, _ => (sbyte)rng.Next(-128, 128)), 7)),
            ("i2 (2,2)", NpyArray.Of(Fill(4, _ => (short)rng.Next(short.MinValue, short.MaxValue)), 2, 2)),
            ("u2 (1,3)", NpyArray.Of(Fill(3, _ => (ushort)rng.Next(ushort.MaxValue)), 1, 3)),
            ("i4 (2,3)", NpyArray.Of(Fill(6, _ => rng.Next()), 2, 3)),
            ("u4 (5,)", NpyArray.Of(Fill(5, _ => (uint)rng.NextInt64(uint.MaxValue)), 5)),
            ("i8 (2,1,2)", NpyArray.Of(Fill(4, _ => rng.NextInt64()), 2, 1, 2)),
            ("u8 (3,)", NpyArray.Of(Fill(3, _ => (ulong)rng.NextInt64()), 3)),
            ("f4 (2,2,2,2)", NpyArray.Of(Fill(16, _ => (float)rng.NextDouble()), 2, 2, 2, 2)),
            ("f4 (1,8,4,4)", NpyArray.Of(Fill(128, _ => (float)rng.NextDouble() - 0.5f), 1, 8, 4, 4)),
            ("f8 ()", NpyArray.Of(new[] { 2.5 })),
            ("f8 (0,4)", NpyArray.Of(Array.Empty<double>(), 0, 4)),
            ("f4 (1,1,16,16)", NpyArray.Of(Fill(256, i => i * 0.25f), 1, 1, 16, 16)),
        };
        return list.Select(s =>
        {
            var ms = new MemoryStream();
            Npy.Write(ms, s.Item2);
            return (s.Item1, ms.ToArray());
        }).ToList();
    }

    static T[] Fill<T>(int n, Func<int, T> f) => Enumerable.Range(0, n).Select(f).ToArray();

    /// <summary>The header's length in bytes (magic, version, length field and dict), from a valid file.</summary>
    public static int HeaderEnd(byte[] npy) => npy[6] == 1
        ? 10 + BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8))
        : 12 + (int)BinaryPrimitives.ReadUInt32LittleEndian(npy.AsSpan(8));

    /// <summary>
    /// A seed with its header dict mutated as text: re-encoded (latin-1, or UTF-8 as version 3.0)
    /// with a length field that matches it (most of the time), the data after it kept, cut or grown.
    /// </summary>
    public static (byte[] Bytes, string Description, string Header) MutateHeader(Random r, byte[] seed)
    {
        int end = HeaderEnd(seed);
        int prefix = seed[6] == 1 ? 10 : 12;
        var dict = Encoding.Latin1.GetString(seed, prefix, end - prefix);
        var (text, what) = Mutator.MutateTextOrBytes(r, dict);
        int version = r.Next(8) switch { 0 => 2, 1 => 3, _ => 1 };
        var header = version == 3 ? Encoding.UTF8.GetBytes(text) : Encoding.Latin1.GetBytes(text);
        if (version == 1 && header.Length > ushort.MaxValue) version = 2;
        var data = seed.AsSpan(end).ToArray();
        var ops = new List<string> { what, $"v{version}" };
        int lengthField = header.Length;
        if (r.Next(8) == 0)
        {
            lengthField = r.Next(3) switch { 0 => header.Length - r.Next(1, 10), 1 => header.Length + r.Next(1, 10), _ => r.Next(0x10000) };
            lengthField = Math.Max(0, lengthField);
            ops.Add($"len={lengthField}");
        }
        switch (r.Next(8))
        {
            case 0: data = data.AsSpan(0, r.Next(data.Length + 1)).ToArray(); ops.Add($"data{data.Length}"); break;
            case 1: data = [.. data, .. new byte[r.Next(1, 64)]]; ops.Add($"data{data.Length}"); break;
        }
        var ms = new MemoryStream();
        ms.Write(seed.AsSpan(0, 6));
        ms.WriteByte((byte)version);
        ms.WriteByte(0);
        Span<byte> len = stackalloc byte[4];
        if (version == 1) { BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)lengthField); ms.Write(len[..2]); }
        else { BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)lengthField); ms.Write(len); }
        ms.Write(header);
        ms.Write(data);
        return (ms.ToArray(), string.Join("; ", ops), text);
    }

    /// <summary>Reads the bytes as a .npy; an accepted array must hold exactly as many elements as its shape says.</summary>
    internal static void Read(byte[] bytes)
    {
        var a = Npy.Read(new MemoryStream(bytes, writable: false), "fuzz.npy");
        BigInteger count = BigInteger.One;
        foreach (var d in a.Shape)
        {
            if (d < 0) throw new FuzzFailure("postcondition: negative dimension", $"accepted shape {a.ShapeText}", "(accepted by Npy.Read)");
            count *= d;
        }
        if (count != a.Length)
            throw new FuzzFailure("postcondition: shape does not match element count", $"accepted shape {a.ShapeText} (product {count}) with {a.Length} elements of {a.DType.Descr()}", "(accepted by Npy.Read)");
        if (a.Bytes.Length != (long)a.Length * a.DType.Size())
            throw new FuzzFailure("postcondition: byte length", $"{a.Bytes.Length} bytes for {a.Length} elements of {a.DType.Descr()}", "(accepted by Npy.Read)");
    }

    [Fact]
    public void NpyBytes()
    {
        var seeds = Seeds();
        var all = seeds.Select(s => s.Bytes).ToList();
        var run = new FuzzRun("npy", output);
        run.Run(seeds.Select((s, i) => new FuzzInput(i, s.Name, "none", "input.npy", s.Bytes)).ToList(), FuzzBudget.Share(0.07), r =>
        {
            int i = r.Next(seeds.Count);
            var (bytes, what) = Mutator.Mutate(r, seeds[i].Bytes, all, 0, HeaderEnd(seeds[i].Bytes));
            return new FuzzInput(i, seeds[i].Name, what, "input.npy", bytes);
        }, input => Read(input.Bytes));
        run.AssertClean();
    }

    [Fact]
    public void NpyHeaderText()
    {
        var seeds = Seeds();
        var run = new FuzzRun("npy-header", output);
        run.Run(seeds.Select((s, i) => new FuzzInput(i, s.Name, "none", "input.npy", s.Bytes)).ToList(), FuzzBudget.Share(0.07), r =>
        {
            int i = r.Next(seeds.Count);
            var (bytes, what, header) = MutateHeader(r, seeds[i].Bytes);
            return new FuzzInput(i, seeds[i].Name, what, "input.npy", bytes, header.Trim());
        }, input => Read(input.Bytes));
        run.AssertClean();
    }
}
