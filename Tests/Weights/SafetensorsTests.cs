using SamEngine.Engine;
using System.Buffers.Binary;
using System.Text;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Tests.Weights;

/// <summary>The safetensors writer (exact, aligned, atomic) and the reader's refusal of lying headers.</summary>
public class SafetensorsTests
{
    [SkippableFact]
    public void ConvertedFixtureIsBitExact()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        var expected = FixtureTensors.Load(Fixtures.Require("sam-mini/tensors.json"));
        using var tmp = new TempFolder();
        var output = tmp.File("sam_mini.safetensors");
        using (var sd = StateDict.Load(pth))
        {
            var config = SamConfig.Infer(sd);
            var written = SafetensorsWriter.Write(output, config.ExpectedTensors().Select(e => sd.Tensors[e.Name]).ToList(), config.ToMetadata());
            Assert.Equal(new FileInfo(output).Length, written.Bytes);
            Assert.Empty(written.NonFinite);
        }

        var file = File.ReadAllBytes(output);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0UL, (8 + headerLength) % 8);
        Assert.Equal((byte)'{', file[8]);

        using var back = StateDict.Load(output);
        Assert.Equal(CheckpointFormat.Safetensors, back.Format);
        Assert.False(back.UsesHuggingFaceNames);
        Assert.Equal("256", back.Metadata["embed_dim"]);
        Assert.Equal("[1, 3]", back.Metadata["global_attn_indexes"]);
        Assert.Equal(expected.Count, back.Tensors.Count);
        foreach (var (name, e) in expected)
        {
            Assert.Equal(e.Shape, back[name].Shape);
            Assert.True(e.Sha256 == FixtureTensors.Sha256(back[name].ToBytes()), $"{name}: sha256 differs after conversion");
        }
    }

    [SkippableFact]
    public void HalfPrecisionConversionRoundsEachValueToNearest()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        using var tmp = new TempFolder();
        using var sd = StateDict.Load(pth);
        var config = SamConfig.Infer(sd);
        SafetensorsWriter.Write(tmp.File("h.safetensors"), config.ExpectedTensors().Select(e => sd.Tensors[e.Name]).ToList(), config.ToMetadata(), DType.F16);
        using var half = StateDict.Load(tmp.File("h.safetensors"));
        foreach (var (name, t) in sd.Tensors)
        {
            Assert.Equal(DType.F16, half[name].DType);
            var want = t.ToFloat32().Select(v => (float)(Half)v).ToArray();
            Assert.Equal(want, half[name].ToFloat32());
        }
    }

    [Fact]
    public void BFloat16RoundsTiesToEven()
    {
        // 1 + 2^-8 lies halfway between bf16 1.0 and 1.0078125: ties go to the even mantissa (1.0);
        // 1.01171875 lies halfway between 1.0078125 and 1.015625: it goes up to the even one;
        // one ulp above the first tie rounds up.
        var values = new[] { 1.00390625f, 1.01171875f, BitConverter.UInt32BitsToSingle(0x3F808001), -3.0f, float.NaN, float.NegativeInfinity };
        var sd = new StateDict(new Dictionary<string, WeightTensor> { ["v"] = new("v", [values.Length], DType.F32, () => values) });
        using var tmp = new TempFolder();
        // The conversion itself, NaN and Inf included; Write refuses such a file (below).
        WriteSummary summary;
        using (var stream = File.Create(tmp.File("b.safetensors")))
            summary = SafetensorsWriter.WriteTo(stream, [sd["v"]], new Dictionary<string, string>(), DType.BF16);
        Assert.Contains("2 NaN/Inf values", Assert.Throws<SamException>(() =>
            SafetensorsWriter.Write(tmp.File("refused.safetensors"), [sd["v"]], new Dictionary<string, string>(), DType.BF16)).Message);
        Assert.False(File.Exists(tmp.File("refused.safetensors")));
        using var back = StateDict.Load(tmp.File("b.safetensors"));
        var got = back["v"].ToFloat32();
        Assert.Equal([1.0f, 1.015625f, 1.0078125f, -3.0f], got[..4]);
        Assert.True(float.IsNaN(got[4]));
        Assert.Equal(float.NegativeInfinity, got[5]);
        Assert.Equal(("v", 2L), Assert.Single(summary.NonFinite));
    }

    [Fact]
    public void AFailedWriteLeavesNothingBehind()
    {
        using var tmp = new TempFolder();
        var ok = new WeightTensor("a", [2], DType.F32, () => [1f, 2f]);
        var broken = new WeightTensor("b", [2], DType.F32, () => throw new CheckpointException("in.pth", "the file ended while reading tensor data"));
        var output = tmp.File("out.safetensors");
        Assert.Throws<CheckpointException>(() => SafetensorsWriter.Write(output, [ok, broken], new Dictionary<string, string>()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    static byte[] File8(string header, int dataBytes, ulong? claimedLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var f = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(f, claimedLength ?? (ulong)h.Length);
        h.CopyTo(f, 8);
        return f;
    }

    public static IEnumerable<object[]> LyingHeaders() =>
    [
        ["offsets past the end", File8("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4), "outside the data region"],
        ["overlap", File8("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12), "overlaps"],
        ["unaligned", File8("""{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}""", 6), "not aligned"],
        ["gap", File8("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12), "gap of 4 bytes"],
        ["trailing bytes", File8("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 12), "cover 4 bytes but the data region has 12"],
        ["shape overflow", File8("""{"a":{"dtype":"F32","shape":[4294967295,4294967295,4294967295],"data_offsets":[0,4]}}""", 4), "malformed shape"],
        ["shape product overflow", File8("""{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647,8],"data_offsets":[0,4]}}""", 4), "overflows"],
        ["size mismatch", File8("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "needs 12"],
        ["negative offset", File8("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4), "outside the data region"],
        ["fractional dim", File8("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 4), "malformed shape"],
        ["header length 2^63", File8("{}", 0, 1UL << 63), "claims 9223372036854775808 bytes"],
        ["header length 2^64-1", File8("{}", 0, ulong.MaxValue), "claims 18446744073709551615 bytes"],
        ["header length past the end", File8("""{"a":1}""", 0, 1000), "claims 1000 bytes"],
        ["unknown dtype", File8("""{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}""", 4), "unknown dtype 'F33'"],
        ["unsupported dtype", File8("""{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}""", 4), "dtype I32"],
        ["duplicate name", File8("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8), "twice"],
        ["not json", File8("{\"a\":", 0), "not valid JSON"],
        ["deep nesting", File8("{\"a\":" + new string('[', 5000) + new string(']', 5000) + "}", 0), "not valid JSON"],
        ["not an object", File8("[1,2]", 0), "not a JSON object"],
        ["metadata not strings", File8("""{"__metadata__":{"x":1}}""", 0), "not a string"],
        ["entry not an object", File8("""{"a":7}""", 0), "not an object"],
        ["too short", new byte[5], "too short"],
    ];

    [Theory]
    [MemberData(nameof(LyingHeaders))]
    public void LyingHeadersAreRefused(string label, byte[] file, string message)
    {
        using var tmp = new TempFolder();
        var path = tmp.File("bad.safetensors");
        File.WriteAllBytes(path, file);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointException>(() => StateDict.Load(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(e.Message.Contains(message), $"{label}: '{e.Message}' does not say '{message}'");
        Assert.StartsWith(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.True(allocated < (4 << 20), $"{label}: refusing it allocated {allocated} bytes");
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        using var tmp = new TempFolder();
        var path = tmp.File("t.safetensors");
        SafetensorsWriter.Write(path, [new WeightTensor("a", [3], DType.F32, () => [1f, 2f, 3f]), new WeightTensor("b", [1, 2], DType.F16, () => [4f, 5f])],
            new Dictionary<string, string> { ["k"] = "v" });
        var file = File.ReadAllBytes(path);
        for (int n = 0; n < file.Length; n++)
        {
            File.WriteAllBytes(path, file[..n]);
            Assert.Throws<CheckpointException>(() => StateDict.Load(path));
        }
    }
}
