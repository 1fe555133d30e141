using System.Buffers.Binary;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Tests.Weights;

/// <summary>
/// int64 tensors (BatchNorm's num_batches_tracked, which MobileSAM's checkpoints hold): read from
/// .pth (torch.LongStorage) and safetensors (I64) with their exact bytes, carried through a
/// conversion unchanged whatever float type the weights are converted to, and never taken for weights.
/// </summary>
public class Int64TensorTests
{
    [SkippableFact]
    public void MobileSamCheckpointIsBitExactIncludingItsCounters()
    {
        var pth = Fixtures.Require("mobilesam-mini/mobilesam_mini.pth");
        var expected = FixtureTensors.Load(Fixtures.Require("mobilesam-mini/tensors.json"));
        using var sd = StateDict.Load(pth);
        Assert.Equal(expected.Keys, sd.Tensors.Keys);
        foreach (var (name, e) in expected)
        {
            var t = sd[name];
            Assert.Equal(e.DType, t.DType.TorchName());
            Assert.Equal(e.Shape, t.Shape);
            Assert.True(e.Sha256 == FixtureTensors.Sha256(t.ToBytes()), $"{name}: sha256 differs");
        }
        var counters = sd.Tensors.Values.Where(t => t.DType == DType.I64).ToList();
        Assert.Equal(24, counters.Count);
        Assert.All(counters, t => Assert.EndsWith(".num_batches_tracked", t.Name));
        foreach (var t in counters)
            Assert.Equal((long)expected[t.Name].First[0], BinaryPrimitives.ReadInt64LittleEndian(t.ToBytes()));
    }

    [SkippableTheory]
    [InlineData(null)]
    [InlineData("fp16")]
    [InlineData("bf16")]
    public void CountersSurviveSafetensorsConversionUnchanged(string? dtypeName)
    {
        var pth = Fixtures.Require("mobilesam-mini/mobilesam_mini.pth");
        var expected = FixtureTensors.Load(Fixtures.Require("mobilesam-mini/tensors.json"));
        DType? dtype = dtypeName == null ? null : DTypes.TryParse(dtypeName, out var d) ? d : throw new ArgumentException(dtypeName);
        using var tmp = new TempFolder();
        var output = tmp.File("mobilesam.safetensors");
        using (var sd = StateDict.Load(pth))
            SafetensorsWriter.Write(output, sd.Tensors.Values.ToList(), new Dictionary<string, string>(), dtype);

        using var back = StateDict.Load(output);
        Assert.Equal(expected.Keys, back.Tensors.Keys);
        foreach (var (name, e) in expected)
        {
            var t = back[name];
            if (e.DType == "int64" || dtype == null)
            {
                Assert.Equal(e.DType, t.DType.TorchName());
                Assert.True(e.Sha256 == FixtureTensors.Sha256(t.ToBytes()), $"{name}: sha256 differs after conversion");
            }
            else Assert.Equal(dtype, t.DType);
        }
    }

    [SkippableFact]
    public void ACounterIsNotAWeight()
    {
        using var sd = StateDict.Load(Fixtures.Require("mobilesam-mini/mobilesam_mini.pth"));
        var counter = sd.Tensors.Values.First(t => t.DType == DType.I64);
        var e = Assert.Throws<CheckpointException>(() => sd.FiniteFloat32(counter));
        Assert.Contains($"'{counter.Name}' is int64, not a float weight", e.Message);
        Assert.Empty(sd.FindNonFinite());
    }

    [Fact]
    public void LongStorageReadsFromAHandMadeCheckpoint()
    {
        using var tmp = new TempFolder();
        var path = tmp.File("counters.pth");
        var count = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(count, -1234567890123L);
        File.WriteAllBytes(path, new PthBuilder().Whole("w", [2], DType.F32, FixtureTensors.Floats(1.5f, -2f)).Whole("bn.num_batches_tracked", [], DType.I64, count).Build());
        using var sd = StateDict.Load(path);
        Assert.Equal(DType.I64, sd["bn.num_batches_tracked"].DType);
        Assert.Empty(sd["bn.num_batches_tracked"].Shape);
        Assert.Equal(count, sd["bn.num_batches_tracked"].ToBytes());
        Assert.Equal([1.5f, -2f], sd.FiniteFloat32(sd["w"]));
    }
}
