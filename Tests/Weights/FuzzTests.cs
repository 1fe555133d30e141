using System.Buffers.Binary;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Tests.Weights;

/// <summary>
/// Seeded mutations and truncations of small valid checkpoints (built from a few fixture tensors):
/// every one must load, or fail with <see cref="CheckpointException"/>; never another exception,
/// a hang, or an allocation beyond a bound.
/// </summary>
public class FuzzTests
{
    // 1200 per test by default; SAM_FUZZ_CASES is the total over all fuzz tests (Tests/Fuzz/FuzzHarness.cs), of which each of these takes 1.5 %.
    static readonly int Cases = SamEngine.Tests.Fuzz.FuzzBudget.LegacyShare(1200, 0.015);
    const long AllocationBound = 16L << 20; // the valid files are a few KB; loading them allocates well under 1 MB

    static readonly string[] Names =
    [
        "prompt_encoder.mask_downscaling.0.weight", "prompt_encoder.mask_downscaling.0.bias",
        "mask_decoder.iou_token.weight", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
    ];

    static PthBuilder SmallPth()
    {
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        var b = new PthBuilder { Root = "sam_vit_b_01ec64" };
        foreach (var n in Names) b.Whole(n, sd[n].Shape, DType.F32, sd[n].ToBytes());
        b.Tensor("view", "2", 8, [4, 2], [1, 4]); // a strided view into the iou token's storage
        b.Whole("half", [4], DType.F16, sd[Names[1]].ToFloat32().SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray());
        return b;
    }

    [SkippableFact]
    public void MutatedPthFilesLoadOrFailCleanly()
    {
        var valid = SmallPth().Build();
        Fuzz(valid, ".pth", r => Mutate(r, valid));
    }

    [SkippableFact]
    public void MutatedPicklesLoadOrFailCleanly()
    {
        // The pickle is mutated before zipping, so its CRC is right and the decoder sees every mutation.
        var b = SmallPth();
        var pickle = b.Pickle();
        var storages = b.Storages.Select(s => (s.Key, s.Value.Bytes)).ToList();
        Fuzz(PthBuilder.Zip(b.Root, pickle, storages), ".pth", r => PthBuilder.Zip(b.Root, Mutate(r, pickle), storages));
    }

    [SkippableFact]
    public void MutatedSafetensorsLoadOrFailCleanly()
    {
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        using var tmp = new TempFolder();
        var tensors = Names.Select(n => sd[n]).Append(new WeightTensor("half", [4], DType.F16, sd[Names[1]].ToFloat32)).ToList();
        SafetensorsWriter.Write(tmp.File("v.safetensors"), tensors, new Dictionary<string, string> { ["embed_dim"] = "256" });
        var valid = File.ReadAllBytes(tmp.File("v.safetensors"));
        int header = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        // Half the cases aim at the header, where the structure lives.
        Fuzz(valid, ".safetensors", r => r.Next(2) == 0 ? Mutate(r, valid, header) : Mutate(r, valid));
    }

    static void Fuzz(byte[] valid, string extension, Func<Random, byte[]> mutate)
    {
        using var tmp = new TempFolder();
        var path = tmp.File("case" + extension);
        File.WriteAllBytes(path, valid);
        Assert.Equal("loaded", Attempt(path));

        var failures = new List<string>();
        int loaded = 0, refused = 0;
        for (int seed = 0; seed < Cases; seed++)
        {
            File.WriteAllBytes(path, mutate(new Random(seed)));
            string? outcome = null;
            Exception? error = null;
            long allocated = 0;
            var run = Task.Run(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { outcome = Attempt(path); }
                catch (Exception e) { error = e; }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            if (!run.Wait(TimeSpan.FromSeconds(30)))
            {
                failures.Add($"seed {seed}: did not finish");
                break;
            }
            if (error != null) failures.Add($"seed {seed}: {error.GetType().Name}: {error.Message}");
            else if (allocated > AllocationBound) failures.Add($"seed {seed}: allocated {allocated} bytes");
            else if (outcome == "loaded") loaded++;
            else refused++;
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} cases failed:\n" + string.Join("\n", failures.Take(10)));
        Console.WriteLine($"fuzz {extension}: {Cases} cases, {loaded} loaded, {refused} refused");
        // Both outcomes occur, so the mutations reach past the first check and the loader still refuses some.
        Assert.True(loaded > 0 && refused > Cases / 4, $"loaded {loaded}, refused {refused}");
    }

    static string Attempt(string path)
    {
        try
        {
            using var sd = StateDict.Load(path);
            foreach (var t in sd.Tensors.Values)
                if (t.ToFloat32().Length != t.Length || t.ToBytes().Length != t.ByteLength) throw new InvalidOperationException($"{t.Name}: wrong length");
            sd.FindNonFinite();
            try { SamConfig.Infer(sd); }
            catch (CheckpointException) { } // a few tensors are not a SAM model; this still exercises inference
            return "loaded";
        }
        catch (CheckpointException)
        {
            return "refused";
        }
    }

    static readonly long[] Interesting = [0, 1, -1, 0x7F, 0x80, 0xFF, 0xFFFF, int.MaxValue, int.MinValue, uint.MaxValue, 1L << 32, long.MaxValue, long.MinValue, 1L << 62];

    /// <summary>One or two random edits: bit flips, special bytes or integers, truncation, insertion, deletion, copies.</summary>
    static byte[] Mutate(Random r, byte[] src, int focus = 0)
    {
        var b = src.ToList();
        int rounds = r.Next(4) == 0 ? 2 : 1;
        for (int k = 0; k < rounds && b.Count > 0; k++)
        {
            int Pos() => r.Next(focus > 0 ? Math.Min(focus, b.Count) : b.Count);
            switch (r.Next(7))
            {
                case 0:
                    for (int i = r.Next(1, 9); i > 0; i--) { int p = Pos(); b[p] ^= (byte)(1 << r.Next(8)); }
                    break;
                case 1:
                    for (int i = r.Next(1, 5); i > 0; i--) b[Pos()] = (byte)Interesting[r.Next(6)];
                    break;
                case 2:
                    b = b.Take(r.Next(b.Count)).ToList();
                    break;
                case 3:
                {
                    var ins = new byte[r.Next(1, 17)];
                    r.NextBytes(ins);
                    b.InsertRange(Pos(), ins);
                    break;
                }
                case 4:
                {
                    int p = Pos();
                    b.RemoveRange(p, Math.Min(r.Next(1, 33), b.Count - p));
                    break;
                }
                case 5:
                {
                    int width = r.Next(2) == 0 ? 4 : 8, p = Pos();
                    if (p + width > b.Count) break;
                    var v = BitConverter.GetBytes(Interesting[r.Next(Interesting.Length)]);
                    for (int i = 0; i < width; i++) b[p + i] = v[i];
                    break;
                }
                default:
                {
                    int from = r.Next(b.Count), to = Pos(), len = Math.Min(r.Next(1, 65), Math.Min(b.Count - from, b.Count - to));
                    var chunk = b.GetRange(from, len);
                    for (int i = 0; i < len; i++) b[to + i] = chunk[i];
                    break;
                }
            }
        }
        return b.ToArray();
    }
}
