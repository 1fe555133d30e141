using System.Text;
using System.Text.Json.Nodes;
using SamEngine.Model;
using SamEngine.Tests.Weights;
using Xunit.Abstractions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// Saved embeddings (EMB.npy + EMB.json) through <see cref="ImageEmbedding.Load"/>. Seeds are
/// small embeddings of small encoder configs written by <see cref="ImageEmbedding.Save"/>. Mutated:
/// the JSON as text or bytes; the JSON with its config_digest recomputed after the mutation (so a
/// mutated config gets past the digest check to the code that uses it); and the .npy beside it.
/// </summary>
[Collection("fuzz")]
public sealed class EmbeddingFuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly TempFolder tmp = new();
    int counter;

    public void Dispose() => tmp.Dispose();

    /// <summary>(json text, npy bytes) of each seed embedding.</summary>
    List<(string Name, string Json, byte[] Npy)> Seeds()
    {
        var configs = new[]
        {
            new ImageEncoderConfig(64, 16, 32, 2, 2, 64, 4, [1], 8),
            new ImageEncoderConfig(32, 8, 16, 1, 1, 32, 0, [], 4, UseAbsPos: false, QkvBias: false, LayerNormEps: 1e-5f),
        };
        var list = new List<(string, string, byte[])>();
        var rng = new Random(3);
        for (int i = 0; i < configs.Length; i++)
        {
            var c = configs[i];
            int[] shape = [1, c.OutChans, c.GridSize, c.GridSize];
            var data = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            (int H, int W) original = (48 + i, 64 - i);
            var e = new ImageEmbedding(data, shape, original, ResizeLongestSide.GetPreprocessShape(original.H, original.W, c.ImgSize), c)
                { Model = "fuzz.pth", Image = "fuzz.jpg", Device = "cpu" };
            var path = tmp.File($"seed{i}.npy");
            e.Save(path);
            list.Add(($"config{i}", File.ReadAllText(ImageEmbedding.MetadataPath(path)), File.ReadAllBytes(path)));
        }
        return list;
    }

    void Load(FuzzInput input)
    {
        int n = Interlocked.Increment(ref counter);
        var npy = tmp.File($"case{n}.npy");
        var json = ImageEmbedding.MetadataPath(npy);
        File.WriteAllBytes(npy, input.Files.First(f => f.Name.EndsWith(".npy", StringComparison.Ordinal)).Bytes);
        File.WriteAllBytes(json, input.Files.First(f => f.Name.EndsWith(".json", StringComparison.Ordinal)).Bytes);
        try
        {
            var e = ImageEmbedding.Load(npy);
            var c = e.Config;
            long count = e.Shape.Aggregate(1L, (a, b) => a * b);
            if (e.Data.Length != count || !e.Shape.SequenceEqual([1, c.OutChans, c.GridSize, c.GridSize])
                || e.OriginalSize.Height <= 0 || e.OriginalSize.Width <= 0 || e.InputSize.Height <= 0 || e.InputSize.Width <= 0)
                throw new FuzzFailure("postcondition: inconsistent embedding",
                    $"shape [{string.Join(",", e.Shape)}], {e.Data.Length} values, original {e.OriginalSize}, input {e.InputSize}, config {c}",
                    "(accepted by ImageEmbedding.Load)");
        }
        finally
        {
            File.Delete(npy);
            File.Delete(json);
        }
    }

    List<FuzzInput> SeedInputs(List<(string Name, string Json, byte[] Npy)> seeds) => seeds.Select((s, i) =>
        new FuzzInput(i, s.Name, "none", [new FuzzFile("emb.json", Encoding.UTF8.GetBytes(s.Json)), new FuzzFile("emb.npy", s.Npy)], s.Json)).ToList();

    [Fact]
    public void EmbeddingJson()
    {
        var seeds = Seeds();
        var run = new FuzzRun("embedding-json", output);
        run.Run(SeedInputs(seeds), FuzzBudget.Share(0.05), r =>
        {
            int i = r.Next(seeds.Count);
            var (text, what) = Mutator.MutateTextOrBytes(r, seeds[i].Json);
            return new FuzzInput(i, seeds[i].Name, what, [new FuzzFile("emb.json", Encoding.UTF8.GetBytes(text)), new FuzzFile("emb.npy", seeds[i].Npy)], text);
        }, Load);
        run.AssertClean();
    }

    /// <summary>The config mutated, then its digest recomputed, so the loader goes on to use the mutated config.</summary>
    [Fact]
    public void EmbeddingConfigWithDigest()
    {
        var seeds = Seeds();
        var run = new FuzzRun("embedding-config", output);
        // Compact text of each seed and of its config, so mutations are spliced in as text (a mutated
        // string may hold a lone surrogate, which JsonNode would refuse to write).
        var compact = seeds.Select(s => JsonNode.Parse(s.Json)!).Select(n => (Json: n.ToJsonString(), Config: n["config"]!.ToJsonString(),
            Digest: (string)n["config_digest"]!, Size: n["original_size"]!.ToJsonString())).ToList();
        run.Run(SeedInputs(seeds), FuzzBudget.Share(0.04), r =>
        {
            int i = r.Next(seeds.Count);
            var seed = compact[i];
            var (text, what) = Mutator.MutateText(r, seed.Config);
            string json = seed.Json.Replace(seed.Config, text);
            try { json = json.Replace(seed.Digest, ImageEncoderConfig.FromJson(JsonNode.Parse(text)!).Digest); }
            catch (Exception) { what += "; digest not recomputed"; }
            // Sizes too, now and then: they are checked after the config.
            if (r.Next(4) == 0)
            {
                var (size, w2) = Mutator.MutateText(r, seed.Size);
                json = json.Replace("\"original_size\":" + seed.Size, "\"original_size\":" + size);
                what += $"; original_size {w2}";
            }
            return new FuzzInput(i, seeds[i].Name, what, [new FuzzFile("emb.json", Encoding.UTF8.GetBytes(json)), new FuzzFile("emb.npy", seeds[i].Npy)], text);
        }, Load);
        run.AssertClean();
    }

    [Fact]
    public void EmbeddingNpy()
    {
        var seeds = Seeds();
        var run = new FuzzRun("embedding-npy", output);
        run.Run(SeedInputs(seeds), FuzzBudget.Share(0.03), r =>
        {
            int i = r.Next(seeds.Count);
            string? header = null;
            byte[] bytes;
            string what;
            if (r.Next(2) == 0) (bytes, what) = Mutator.Mutate(r, seeds[i].Npy, null, 0, NpyFuzzTests.HeaderEnd(seeds[i].Npy));
            else (bytes, what, header) = NpyFuzzTests.MutateHeader(r, seeds[i].Npy);
            return new FuzzInput(i, seeds[i].Name, what, [new FuzzFile("emb.npy", bytes), new FuzzFile("emb.json", Encoding.UTF8.GetBytes(seeds[i].Json))], header?.Trim());
        }, Load);
        run.AssertClean();
    }
}
