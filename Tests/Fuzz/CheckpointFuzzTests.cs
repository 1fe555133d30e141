using System.Buffers.Binary;
using System.Text;
using SamEngine.Tests.Weights;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;
using Xunit.Abstractions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// Checkpoints through <see cref="StateDict.Load"/>, then every tensor read, the non-finite scan and
/// <see cref="SamConfig.Infer"/> (as Tests/Weights/FuzzTests.cs does with fixture tensors; these
/// seeds are synthetic, built with its <see cref="PthBuilder"/> and <see cref="Zip64"/> helpers
/// and <see cref="SafetensorsWriter"/>, so they need no fixtures). Mutated: the whole .pth file,
/// its pickle alone (zipped again, so the CRC is right), a safetensors file, and its JSON header as
/// text (with the length prefix kept consistent).
/// </summary>
[Collection("fuzz")]
public sealed class CheckpointFuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly TempFolder tmp = new();
    int counter;

    public void Dispose() => tmp.Dispose();

    static byte[] Floats(int n, float scale) => FixtureTensors.Floats(Enumerable.Range(0, n).Select(i => (i - n / 2) * scale).ToArray());

    /// <summary>A few official-named tensors of each stored type, and a strided view into another's storage.</summary>
    static PthBuilder Builder()
    {
        var b = new PthBuilder { Root = "sam_vit_b_01ec64" };
        b.Whole("prompt_encoder.mask_downscaling.0.weight", [4, 1, 2, 2], DType.F32, Floats(16, 0.1f));
        b.Whole("prompt_encoder.mask_downscaling.0.bias", [4], DType.F32, Floats(4, 0.5f));
        b.Whole("mask_decoder.iou_token.weight", [1, 8], DType.F32, Floats(8, 0.25f));
        b.Whole("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", [2, 4], DType.F32, Floats(8, 1f));
        b.Tensor("view", "2", 1, [3, 2], [2, 1]); // a view into the iou token's storage
        b.Whole("half", [4], DType.F16, Enumerable.Range(0, 4).SelectMany(i => BitConverter.GetBytes((Half)(i * 0.5f))).ToArray());
        b.Whole("bf16", [3], DType.BF16, [0x80, 0x3F, 0x00, 0x40, 0x40, 0xC0]);
        return b;
    }

    static List<(string Name, byte[] Data)> Members(PthBuilder b, byte[]? pickle = null)
    {
        var members = new List<(string, byte[])> { ($"{b.Root}/data.pkl", pickle ?? b.Pickle()), ($"{b.Root}/version", "3\n"u8.ToArray()) };
        members.AddRange(b.Storages.Select(s => ($"{b.Root}/data/{s.Key}", s.Value.Bytes)));
        return members;
    }

    List<(string Name, byte[] Bytes)> SafetensorsSeeds()
    {
        var official = new List<WeightTensor>
        {
            new("prompt_encoder.mask_downscaling.0.weight", [4, 1, 2, 2], DType.F32, () => Enumerable.Range(0, 16).Select(i => i * 0.1f).ToArray()),
            new("mask_decoder.iou_token.weight", [1, 8], DType.F32, () => Enumerable.Range(0, 8).Select(i => i * -0.5f).ToArray()),
            new("half", [4], DType.F16, () => [0.5f, 1f, -2f, 65504f]),
            new("bf16", [2, 1], DType.BF16, () => [1f, -3f]),
        };
        var hf = new List<WeightTensor>
        {
            new("vision_encoder.pos_embed", [1, 2, 2, 4], DType.F32, () => Enumerable.Range(0, 16).Select(i => i * 0.01f).ToArray()),
            new("shared_image_embedding.positional_embedding", [2, 4], DType.F32, () => Enumerable.Range(0, 8).Select(i => (float)i).ToArray()),
            new("mask_decoder.iou_prediction_head.proj_in.bias", [4], DType.F16, () => [1f, 2f, 3f, 4f]),
        };
        var list = new List<(string, byte[])>();
        foreach (var (name, tensors) in new[] { ("official.safetensors", official), ("huggingface.safetensors", hf) })
        {
            SafetensorsWriter.Write(tmp.File(name), tensors, new Dictionary<string, string> { ["format"] = "pt", ["embed_dim"] = "256" });
            list.Add((name, File.ReadAllBytes(tmp.File(name))));
        }
        return list;
    }

    /// <summary>Loads the file and reads everything from it; refusals are CheckpointException (a SamException).</summary>
    void Load(FuzzInput input)
    {
        var path = tmp.File($"case{Interlocked.Increment(ref counter)}{Path.GetExtension(input.Files[0].Name)}");
        File.WriteAllBytes(path, input.Bytes);
        try
        {
            using var sd = StateDict.Load(path);
            foreach (var t in sd.Tensors.Values)
            {
                if (t.Shape.Any(d => d < 0))
                    throw new FuzzFailure("postcondition: negative dimension", $"tensor {t}", "(accepted by StateDict.Load)");
                var values = t.ToFloat32();
                var bytes = t.ToBytes();
                if (values.Length != t.Length || bytes.Length != t.ByteLength)
                    throw new FuzzFailure("postcondition: tensor length", $"{t}: {values.Length} values, {bytes.Length} bytes; shape says {t.Length}", "(accepted by StateDict.Load)");
            }
            sd.FindNonFinite();
            try { SamConfig.Infer(sd); }
            catch (CheckpointException) { } // a few tensors are not a SAM model; inference still looks at them
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void PthFile()
    {
        var b = Builder();
        var seeds = new List<(string Name, byte[] Bytes)> { ("pth", b.Build()), ("pth-zip64", Zip64.Write(Members(b))) };
        int pickleLength = b.Pickle().Length;
        var all = seeds.Select(s => s.Bytes).ToList();
        var run = new FuzzRun("pth", output);
        run.Run(seeds.Select((s, i) => new FuzzInput(i, s.Name, "none", "input.pth", s.Bytes)).ToList(), FuzzBudget.Share(0.05), r =>
        {
            int i = r.Next(seeds.Count);
            var bytes = seeds[i].Bytes;
            // Half the positions in the pickle (near the start) or in the central directory (at the end).
            var (start, end) = r.Next(2) == 0 ? (0, Math.Min(bytes.Length, 100 + pickleLength)) : (Math.Max(0, bytes.Length - 400), bytes.Length);
            var (mutated, what) = Mutator.Mutate(r, bytes, all, start, end);
            return new FuzzInput(i, seeds[i].Name, what, "input.pth", mutated);
        }, Load);
        run.AssertClean();
    }

    [Fact]
    public void PthPickle()
    {
        var b = Builder();
        var pickle = b.Pickle();
        var storages = b.Storages.Select(s => (s.Key, s.Value.Bytes)).ToList();
        var run = new FuzzRun("pth-pickle", output);
        run.Run([new FuzzInput(0, "pickle", "none", "input.pth", PthBuilder.Zip(b.Root, pickle, storages))], FuzzBudget.Share(0.05), r =>
        {
            var (mutated, what) = Mutator.Mutate(r, pickle);
            var bytes = r.Next(10) == 0
                ? Zip64.Write(Members(b, mutated))
                : PthBuilder.Zip(b.Root, mutated, storages);
            return new FuzzInput(0, "pickle", what, [new FuzzFile("input.pth", bytes), new FuzzFile("data.pkl", mutated)]);
        }, Load);
        run.AssertClean();
    }

    [Fact]
    public void SafetensorsFile()
    {
        var seeds = SafetensorsSeeds();
        var all = seeds.Select(s => s.Bytes).ToList();
        var run = new FuzzRun("safetensors", output);
        run.Run(seeds.Select((s, i) => new FuzzInput(i, s.Name, "none", "input.safetensors", s.Bytes)).ToList(), FuzzBudget.Share(0.05), r =>
        {
            int i = r.Next(seeds.Count);
            var bytes = seeds[i].Bytes;
            int header = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            var (mutated, what) = Mutator.Mutate(r, bytes, all, 0, header);
            // Safetensors is told apart by its '{' at offset 8 or by the extension: keep both kinds of name.
            return new FuzzInput(i, seeds[i].Name, what, r.Next(4) == 0 ? "input.bin" : "input.safetensors", mutated);
        }, Load);
        run.AssertClean();
    }

    [Fact]
    public void SafetensorsHeaderJson()
    {
        var seeds = SafetensorsSeeds();
        var run = new FuzzRun("safetensors-header", output);
        run.Run(seeds.Select((s, i) => new FuzzInput(i, s.Name, "none", "input.safetensors", s.Bytes)).ToList(), FuzzBudget.Share(0.04), r =>
        {
            int i = r.Next(seeds.Count);
            var bytes = seeds[i].Bytes;
            int header = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            var json = Encoding.UTF8.GetString(bytes, 8, header - 8);
            var (text, what) = Mutator.MutateTextOrBytes(r, json);
            var h = Encoding.UTF8.GetBytes(text);
            ulong length = (ulong)h.Length;
            if (r.Next(10) == 0)
            {
                length = r.Next(3) switch { 0 => length + 1, 1 => length - 1, _ => ulong.MaxValue };
                what += $"; len={length}";
            }
            var result = new byte[8 + h.Length + bytes.Length - header];
            BinaryPrimitives.WriteUInt64LittleEndian(result, length);
            h.CopyTo(result, 8);
            bytes.AsSpan(header).CopyTo(result.AsSpan(8 + h.Length));
            return new FuzzInput(i, seeds[i].Name, what, "input.safetensors", result, text.Trim());
        }, Load);
        run.AssertClean();
    }
}
