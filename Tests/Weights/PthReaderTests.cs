using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

/// <summary>The .pth reader: exact bytes for the fixture, views, element types, and refusal of broken containers.</summary>
public class PthReaderTests
{
    [SkippableFact]
    public void FixtureTensorsAreBitExact()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        var expected = FixtureTensors.Load(Fixtures.Require("sam-mini/tensors.json"));
        using var sd = StateDict.Load(pth);
        Assert.Equal(CheckpointFormat.PyTorch, sd.Format);
        Assert.Equal(expected.Keys.Order(), sd.Tensors.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var t = sd[name];
            Assert.Equal("float32", t.DType.TorchName());
            Assert.Equal(e.Shape, t.Shape);
            Assert.True(e.Sha256 == FixtureTensors.Sha256(t.ToBytes()), $"{name}: sha256 differs");
            var v = t.ToFloat32();
            for (int i = 0; i < e.First.Length; i++) Assert.Equal((float)e.First[i], v[i]);
            Assert.Equal(e.Sum, v.Sum(x => (double)x), 6);
        }
    }

    [SkippableFact]
    public void FixtureKeepsTheOfficialKeyOrder()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        var keys = File.ReadAllLines(Fixtures.Require("sam-mini/keys.txt")).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]);
        using var sd = StateDict.Load(pth);
        Assert.Equal(keys, sd.Tensors.Keys);
    }

    [Fact]
    public void ViewsIntoALargerStorageComeOutRight()
    {
        var storage = Enumerable.Range(0, 24).Select(i => (float)i * 1.5f - 7f).ToArray();
        using var tmp = new TempFolder();
        var b = new PthBuilder { Root = "any_root-name.v2" }.Storage("7", DType.F32, FixtureTensors.Floats(storage));
        b.Tensor("slice", "7", 4, [2, 3]);                  // rows 4..9, contiguous
        b.Tensor("transposed", "7", 0, [3, 2], [1, 3]);     // columns of a 2×3 block
        b.Tensor("every_other", "7", 1, [2, 2, 2], [12, 4, 2]);
        b.Tensor("broadcast_row", "7", 10, [3, 2], [0, 1]);
        b.Tensor("scalar", "7", 23, []);
        b.Tensor("empty", "7", 0, [0, 5]);
        File.WriteAllBytes(tmp.File("views.pth"), b.Build());

        using var sd = StateDict.Load(tmp.File("views.pth"));
        Assert.Equal(Expected(4, [2, 3], [3, 1]), sd["slice"].ToFloat32());
        Assert.Equal(Expected(0, [3, 2], [1, 3]), sd["transposed"].ToFloat32());
        Assert.Equal(Expected(1, [2, 2, 2], [12, 4, 2]), sd["every_other"].ToFloat32());
        Assert.Equal(Expected(10, [3, 2], [0, 1]), sd["broadcast_row"].ToFloat32());
        Assert.Equal([storage[23]], sd["scalar"].ToFloat32());
        Assert.Empty(sd["empty"].ToFloat32());
        Assert.Equal([0, 5], sd["empty"].Shape);

        float[] Expected(int offset, int[] shape, long[] stride)
        {
            var r = new List<float>();
            void Walk(int d, long at)
            {
                if (d == shape.Length) { r.Add(storage[at]); return; }
                for (int i = 0; i < shape[d]; i++) Walk(d + 1, at + i * stride[d]);
            }
            Walk(0, offset);
            return r.ToArray();
        }
    }

    [Fact]
    public void HalfAndBFloat16StoragesWidenExactly()
    {
        var values = new float[] { 0f, -1.5f, 65504f, 6.1035156e-05f, 5.9604645e-08f, float.PositiveInfinity, 0.333251953125f };
        var half = values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray();
        // bf16 is the high half of the fp32 bit pattern; these values are exact in bf16.
        var bfValues = new float[] { 0f, -2f, 3.140625f, 1e30f, -0.0078125f };
        var bf = bfValues.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))).ToArray();
        using var tmp = new TempFolder();
        var b = new PthBuilder().Whole("h", [values.Length], DType.F16, half).Whole("b", [bfValues.Length], DType.BF16, bf);
        b.Tensor("h_view", "0", 2, [2]);
        File.WriteAllBytes(tmp.File("types.pth"), b.Build());

        using var sd = StateDict.Load(tmp.File("types.pth"));
        Assert.Equal(DType.F16, sd["h"].DType);
        Assert.Equal(DType.BF16, sd["b"].DType);
        Assert.Equal(values.Select(v => (float)(Half)v), sd["h"].ToFloat32());
        Assert.Equal(half, sd["h"].ToBytes());
        Assert.Equal(bfValues.Select(v => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(v) & 0xFFFF0000)), sd["b"].ToFloat32());
        Assert.Equal(bf, sd["b"].ToBytes());
        Assert.Equal([65504f, (float)(Half)6.1035156e-05f], sd["h_view"].ToFloat32());
    }

    [Fact]
    public void ParametersAreTheirTensors()
    {
        // nn.Parameter pickles as _rebuild_parameter(_rebuild_tensor_v2(...), requires_grad, hooks).
        using var tmp = new TempFolder();
        var w = new PickleWriter().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark().Str("p");
        w.Global("torch._utils", "_rebuild_parameter").Mark().Tensor("FloatStorage", "0", 2, 0, [2], [1]).Op(0x88);
        w.Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce().SetItems().Stop();
        File.WriteAllBytes(tmp.File("param.pth"), PthBuilder.Zip("m", w.ToArray(), [("0", FixtureTensors.Floats(3f, 4f))]));
        using var sd = StateDict.Load(tmp.File("param.pth"));
        Assert.Equal([3f, 4f], sd["p"].ToFloat32());
    }

    [Theory]
    [InlineData("view", "reaches past its storage")]
    [InlineData("size", "holds 8 bytes, but data.pkl declares 3")]
    [InlineData("missing", "storage data/9 is missing")]
    [InlineData("two_pkl", "2 data.pkl files")]
    [InlineData("no_pkl", "has no data.pkl")]
    [InlineData("not_dict", "not a state dict")]
    [InlineData("crc", "CRC-32")]
    public void InconsistentCheckpointsAreRefused(string kind, string message)
    {
        using var tmp = new TempFolder();
        var path = tmp.File("bad.pth");
        var two = FixtureTensors.Floats(1f, 2f);
        byte[] file = kind switch
        {
            "view" => new PthBuilder().Storage("0", DType.F32, two).Tensor("t", "0", 1, [2]).Build(),
            "size" => PthBuilder.Zip("a", new PickleWriter().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
                .Str("t").Tensor("FloatStorage", "0", 3, 0, [2], [1]).SetItems().Stop().ToArray(), [("0", two)]),
            "missing" => PthBuilder.Zip("a", new PickleWriter().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
                .Str("t").Tensor("FloatStorage", "9", 2, 0, [2], [1]).SetItems().Stop().ToArray(), [("0", two)]),
            "two_pkl" => TwoPickles(),
            "no_pkl" => Zip(("a/data/0", two)),
            "not_dict" => PthBuilder.Zip("a", new PickleWriter().Proto(2).Int(5).Stop().ToArray(), []),
            _ => CorruptPickle(),
        };
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<CheckpointException>(() => StateDict.Load(path));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);

        static byte[] TwoPickles()
        {
            var p = new PthBuilder().Whole("t", [2], DType.F32, FixtureTensors.Floats(1f, 2f)).Pickle();
            return Zip(("a/data.pkl", p), ("b/data.pkl", p), ("a/data/0", FixtureTensors.Floats(1f, 2f)));
        }

        static byte[] CorruptPickle()
        {
            var b = new PthBuilder().Whole("t", [2], DType.F32, FixtureTensors.Floats(1f, 2f)).Build();
            // Flip a byte inside data.pkl (the first member's data starts after its 30-byte header and name).
            int at = 30 + "archive/data.pkl".Length + 5;
            b[at] ^= 0x20;
            return b;
        }
    }

    static byte[] Zip(params (string Name, byte[] Data)[] members)
    {
        var ms = new MemoryStream();
        using (var z = new System.IO.Compression.ZipArchive(ms, System.IO.Compression.ZipArchiveMode.Create, true))
            foreach (var (name, data) in members)
            {
                using var s = z.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    [Fact]
    public void Zip64ArchivesAreRead()
    {
        var b = new PthBuilder().Whole("a", [3], DType.F32, FixtureTensors.Floats(1, 2, 3)).Whole("b", [1], DType.BF16, [0x80, 0x3F]);
        var members = new List<(string, byte[])> { ("big/data.pkl", b.Pickle()), ("big/version", "3\n"u8.ToArray()) };
        members.AddRange(b.Storages.Select(s => ($"big/data/{s.Key}", s.Value.Bytes)));
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("big.pth"), Zip64.Write(members));
        using var sd = StateDict.Load(tmp.File("big.pth"));
        Assert.Equal([1f, 2f, 3f], sd["a"].ToFloat32());
        Assert.Equal([1f], sd["b"].ToFloat32());
    }

    [Fact]
    public void AFewValuesOfALargeStorageAreReadAlone()
    {
        // Three values strided across a 2.4 MB storage: read one by one rather than the whole span.
        var storage = Enumerable.Range(0, 600_000).Select(i => (float)i).ToArray();
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("sparse.pth"), new PthBuilder().Storage("0", DType.F32, FixtureTensors.Floats(storage))
            .Tensor("picked", "0", 7, [3], [250_000]).Build());
        using var sd = StateDict.Load(tmp.File("sparse.pth"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal([7f, 250_007f, 500_007f], sd["picked"].ToFloat32());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000);
    }

    [Fact]
    public void CompressedMembersAreRefused()
    {
        using var tmp = new TempFolder();
        var ms = new MemoryStream();
        using (var z = new System.IO.Compression.ZipArchive(ms, System.IO.Compression.ZipArchiveMode.Create, true))
        {
            using var s = z.CreateEntry("a/data.pkl", System.IO.Compression.CompressionLevel.Optimal).Open();
            s.Write(new PthBuilder().Pickle());
        }
        File.WriteAllBytes(tmp.File("deflated.pth"), ms.ToArray());
        var e = Assert.Throws<CheckpointException>(() => StateDict.Load(tmp.File("deflated.pth")));
        Assert.Contains("compressed", e.Message);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        using var tmp = new TempFolder();
        var file = new PthBuilder().Whole("a", [3], DType.F32, FixtureTensors.Floats(1, 2, 3)).Whole("b", [2], DType.F16, new byte[4]).Build();
        var path = tmp.File("cut.pth");
        for (int n = 0; n < file.Length; n++)
        {
            File.WriteAllBytes(path, file[..n]);
            Assert.Throws<CheckpointException>(() => StateDict.Load(path));
        }
        File.WriteAllBytes(path, file);
        using var sd = StateDict.Load(path);
        Assert.Equal([1f, 2f, 3f], sd["a"].ToFloat32());
    }

    [Theory]
    [InlineData(new byte[0], "neither")]
    [InlineData(new byte[] { 0x80, 0x02, 0x8a, 0x0a }, "legacy")]
    [InlineData(new byte[] { (byte)'h', (byte)'e', (byte)'l', (byte)'l', (byte)'o' }, "neither")]
    public void NonCheckpointsAreRefused(byte[] content, string message)
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("x.bin2"), content);
        Assert.Contains(message, Assert.Throws<CheckpointException>(() => StateDict.Load(tmp.File("x.bin2"))).Message);
        Assert.Contains("file not found", Assert.Throws<CheckpointException>(() => StateDict.Load(tmp.File("absent.pth"))).Message);
        Assert.Contains("folder", Assert.Throws<CheckpointException>(() => StateDict.Load(tmp.Path)).Message);
    }
}
