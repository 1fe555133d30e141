using System.Runtime.InteropServices;
using System.Text;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;
using Xunit.Abstractions;

namespace SamEngine.Tests.Tools;

/// <summary>
/// What a careless or malicious user can hand the CLI, by category (docs/reliability.md): files
/// that are not regular files, outputs that belong to the user, sizes that would allocate
/// gigabytes, non-finite numbers, and leftovers of interrupted runs. Each refusal is one line
/// naming the file or option, exit code 1, nothing written and nothing of the user's touched.
/// </summary>
[Collection("console")]
public sealed class HostileInputTests(ITestOutputHelper output) : IDisposable
{
    readonly string work = Directory.CreateTempSubdirectory("sam-hostile-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    string PathOf(string name) => Path.Combine(work, name);

    (int Code, string Error) Sam(params string[] args)
    {
        var run = Task.Run(() => SamCli.Run(args));
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), $"sam {string.Join(' ', args)} did not finish within 60 s");
        var (code, _, error) = run.Result;
        output.WriteLine($"sam {string.Join(' ', args)} → {code}: {error.Trim()}");
        return (code, error);
    }

    void AssertRefused((int Code, string Error) r, string says)
    {
        Assert.Equal(1, r.Code);
        var lines = r.Error.TrimEnd().Split('\n');
        Assert.True(lines.Length == 1 && lines[0].StartsWith("sam: error: "), $"not one error line: {r.Error}");
        Assert.Contains(says, r.Error);
    }

    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    /// <summary>A FIFO, two devices, a folder, a link loop and a dangling link, as every kind of input file.</summary>
    [SkippableFact]
    public void NonRegularFilesAreOneLineErrorsNeverHangs()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "FIFOs and /dev are Linux's here");
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        Assert.Equal(0, mkfifo(PathOf("fifo.png"), 0x1B6));
        File.CreateSymbolicLink(PathOf("loop-a"), PathOf("loop-b"));
        File.CreateSymbolicLink(PathOf("loop-b"), PathOf("loop-a"));
        File.CreateSymbolicLink(PathOf("dangling.png"), PathOf("nothing-here"));
        Directory.CreateDirectory(PathOf("folder.png"));
        var cases = new (string Path, string Says)[]
        {
            (PathOf("fifo.png"), "is a FIFO (named pipe), not a regular file"),
            ("/dev/zero", "is a device, not a regular file"),
            ("/dev/urandom", "is a device, not a regular file"),
            (PathOf("folder.png"), "is a folder, not a file"),
            (PathOf("loop-a"), "a loop of symbolic links"),
            (PathOf("dangling.png"), "a link that points nowhere"),
        };
        foreach (var (path, says) in cases)
        {
            AssertRefused(Sam("embed", "--model", model, "--image", path, "-o", PathOf("e.npy"), "--device", "cpu"), $"image {path}: {says}");
            AssertRefused(Sam("info", path), $"{path}: {says}");
            AssertRefused(Sam("segment", "--model", path, "--image", Fixtures.Require("sam-mini/shapes.png"), "--point", "1,1", "--out-dir", PathOf("out"), "--device", "cpu"), $"{path}: {says}");
            AssertRefused(Sam("segment", "--model", model, "--embedding", path, "--point", "1,1", "--out-dir", PathOf("out"), "--device", "cpu"), says);
            AssertRefused(Sam("verify", "--image", path, "--pixels", Fixtures.Require("images/one_pixel.jpg.rgb.npy")), says);
        }
        Assert.False(File.Exists(PathOf("e.npy")));
        Assert.False(Directory.Exists(PathOf("out")));
    }

    /// <summary>Every command that writes, pointed at a user's file or folder: refused, the user's bytes as they were.</summary>
    [SkippableFact]
    public void NoCommandOverwritesOrDeletesWhatItDidNotWrite()
    {
        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        var image = PathOf("shapes.png");
        File.Copy(Fixtures.Require("sam-mini/shapes.png"), image);
        void Mine(string path) => File.WriteAllText(path, "the user's own");
        void StillMine(string path) => Assert.Equal("the user's own", File.ReadAllText(path));

        Mine(PathOf("emb.npy"));
        AssertRefused(Sam("embed", "--model", model, "--image", image, "-o", PathOf("emb.npy"), "--device", "cpu"), "emb.npy: exists and was not written by sam; not overwritten");
        StillMine(PathOf("emb.npy"));
        Mine(PathOf("e2.json"));
        AssertRefused(Sam("embed", "--model", model, "--image", image, "-o", PathOf("e2.npy"), "--device", "cpu"), "e2.json: exists and was not written by sam");
        Assert.False(File.Exists(PathOf("e2.npy")));

        Directory.CreateDirectory(PathOf("amg"));
        Mine(PathOf("amg/shapes.json"));
        Assert.Equal(1, Sam("amg", "--model", model, "--input", image, "--output", PathOf("amg"), "--convert-to-rle", "--points-per-side", "4", "--device", "cpu").Code);
        StillMine(PathOf("amg/shapes.json"));
        Directory.CreateDirectory(PathOf("amg2/shapes"));
        Mine(PathOf("amg2/shapes/metadata.csv"));   // looks like a mask folder, but is not sam's
        Assert.Equal(1, Sam("amg", "--model", model, "--input", image, "--output", PathOf("amg2"), "--points-per-side", "4", "--device", "cpu").Code);
        StillMine(PathOf("amg2/shapes/metadata.csv"));

        Directory.CreateDirectory(PathOf("seg"));
        Mine(PathOf("seg/masks.npy"));   // a name segment writes, in a folder it did not make
        AssertRefused(Sam("segment", "--model", model, "--image", image, "--point", "100,100", "--out-dir", PathOf("seg"), "--device", "cpu"), "exists and was not written by sam");
        StillMine(PathOf("seg/masks.npy"));

        Mine(PathOf("out.safetensors"));
        AssertRefused(Sam("convert", model, "-o", PathOf("out.safetensors")), "out.safetensors: exists and was not written by sam");
        StillMine(PathOf("out.safetensors"));

        Directory.CreateDirectory(PathOf("cl"));
        Mine(PathOf("cl/notes.txt"));
        AssertRefused(Sam("kernels", "--emit", "opencl", "--out", PathOf("cl"), "--filter", "relu"), "exists and was not written by sam");
        StillMine(PathOf("cl/notes.txt"));

        // Its own outputs it replaces; once changed by hand they are the user's again.
        Assert.Equal(0, Sam("segment", "--model", model, "--image", image, "--point", "100,100", "--out-dir", PathOf("seg2"), "--device", "cpu").Code);
        Assert.Equal(0, Sam("segment", "--model", model, "--image", image, "--point", "120,100", "--out-dir", PathOf("seg2"), "--device", "cpu").Code);
        File.AppendAllText(PathOf("seg2/result.json"), " ");
        AssertRefused(Sam("segment", "--model", model, "--image", image, "--point", "100,100", "--out-dir", PathOf("seg2"), "--device", "cpu"), "result.json was changed since sam wrote it");
        Assert.Equal(0, Sam("convert", model, "-o", PathOf("own.safetensors")).Code);
        Assert.Equal(0, Sam("convert", model, "-o", PathOf("own.safetensors")).Code);
    }

    /// <summary>Headers claiming sizes the file cannot hold are refused before anything is allocated for them.</summary>
    [SkippableFact]
    public void ClaimedSizesAreCheckedBeforeAllocating()
    {
        var npy = PathOf("huge.npy");
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (20000, 20000), }".PadRight(117) + "\n";
        File.WriteAllBytes(npy, [0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, 0, .. Encoding.Latin1.GetBytes(header), 1, 2, 3]);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<SamException>(() => Npy.Read(npy));
        Assert.Contains("needs 3200000000 bytes, file has 3", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 200 << 20);

        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        Assert.Equal(0, Sam("embed", "--model", model, "--image", Fixtures.Require("sam-mini/shapes.png"), "-o", PathOf("emb.npy"), "--device", "cpu").Code);
        var json = File.ReadAllText(PathOf("emb.json"));
        File.WriteAllText(PathOf("emb.json"), json.Replace("\"original_size\": [\n    600,\n    900\n  ]", "\"original_size\": [\n    1000000,\n    1000000\n  ]"));
        AssertRefused(Sam("segment", "--model", model, "--embedding", PathOf("emb.npy"), "--point", "1,1", "--out-dir", PathOf("out"), "--device", "cpu"),
            "original_size 1000000×1000000 exceeds the limit");
        string[] manyPoints = [.. Enumerable.Repeat(new[] { "--point", "1,1" }, 300).SelectMany(p => p)];
        AssertRefused(Sam(["segment", "--model", model, "--embedding", PathOf("emb.npy"), "--out-dir", PathOf("out"), "--device", "cpu", .. manyPoints]),
            "300 points; at most 256");
        AssertRefused(Sam("bench", "--arch", "mini", "--repeat", "5000"), "--repeat 5000: must be in [1, 1000]");
    }

    /// <summary>Weights that overflow float32 make a NaN embedding: an error, never a file of NaNs with exit code 0.</summary>
    [SkippableFact]
    public void NonFiniteResultsAreErrorsNotOutputs()
    {
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        var tensors = sd.Tensors.Values.Select(t => t.Name != "image_encoder.patch_embed.proj.weight" ? t
            : new WeightTensor(t.Name, t.Shape, t.DType, () => Enumerable.Repeat(3e38f, (int)t.Length).ToArray())).ToList();
        using (var stream = File.Create(PathOf("overflow.safetensors"))) SafetensorsWriter.WriteTo(stream, tensors, new Dictionary<string, string>(), null);
        AssertRefused(Sam("embed", "--model", PathOf("overflow.safetensors"), "--image", Fixtures.Require("sam-mini/shapes.png"), "-o", PathOf("nan.npy"), "--device", "cpu"),
            "the image encoder produced");
        Assert.False(File.Exists(PathOf("nan.npy")));

        var model = Fixtures.Require("sam-mini/sam_mini.pth");
        Assert.Equal(0, Sam("embed", "--model", model, "--image", Fixtures.Require("sam-mini/shapes.png"), "-o", PathOf("emb.npy"), "--device", "cpu").Code);
        var bytes = File.ReadAllBytes(PathOf("emb.npy"));
        BitConverter.GetBytes(float.NaN).CopyTo(bytes, bytes.Length - 40);
        File.WriteAllBytes(PathOf("emb.npy"), bytes);
        AssertRefused(Sam("segment", "--model", model, "--embedding", PathOf("emb.npy"), "--point", "1,1", "--out-dir", PathOf("out"), "--device", "cpu"),
            "holds a non-finite value (NaN/Inf)");
    }

    /// <summary>A failed run leaves no folder it made; a resumed run removes its own stale temporaries and nothing else.</summary>
    [SkippableFact]
    public void FailedRunsLeaveNothingAndResumedRunsCleanOnlyTheirOwn()
    {
        AssertRefusedOrFails(Sam("amg", "--model", PathOf("absent.pth"), "--input", Fixtures.Require("sam-mini/shapes.png"), "--output", PathOf("new"), "--device", "cpu"));
        Assert.False(Directory.Exists(PathOf("new")));

        var outputDir = Directory.CreateDirectory(PathOf("resume")).FullName;
        var stale = Directory.CreateDirectory(Path.Combine(outputDir, $".shapes.sam-{int.MaxValue - 7}-{Guid.NewGuid():N}.tmp")).FullName;
        File.WriteAllText(Path.Combine(stale, "0.png"), "half written");
        var live = Directory.CreateDirectory(Path.Combine(outputDir, $".other.sam-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp")).FullName;
        var users = Directory.CreateDirectory(Path.Combine(outputDir, ".shapes.tmp")).FullName;
        var input = Directory.CreateDirectory(PathOf("in")).FullName;
        File.Copy(Fixtures.Require("sam-mini/shapes.png"), Path.Combine(input, "shapes.png"));
        Assert.Equal(0, Sam("amg", "--model", Fixtures.Require("sam-mini/sam_mini.pth"), "--input", input, "--output", outputDir, "--points-per-side", "4", "--device", "cpu").Code);
        Assert.False(Directory.Exists(stale));
        Assert.True(Directory.Exists(live));    // a running process's (here: this one's)
        Assert.True(Directory.Exists(users));   // not a name sam uses

        // A killed segment or embed left its temporary beside the output: the next run for the same output removes it.
        var killed = Directory.CreateDirectory(PathOf($".seg.sam-{int.MaxValue - 9}-{Guid.NewGuid():N}.tmp")).FullName;
        var killedFile = PathOf($".e.npy.sam-{int.MaxValue - 9}-{Guid.NewGuid():N}.tmp");
        File.WriteAllText(killedFile, "half");
        Assert.Equal(0, Sam("segment", "--model", Fixtures.Require("sam-mini/sam_mini.pth"), "--image", Fixtures.Require("sam-mini/shapes.png"), "--point", "100,100",
            "--out-dir", PathOf("seg"), "--device", "cpu").Code);
        Assert.Equal(0, Sam("embed", "--model", Fixtures.Require("sam-mini/sam_mini.pth"), "--image", Fixtures.Require("sam-mini/shapes.png"), "-o", PathOf("e.npy"), "--device", "cpu").Code);
        Assert.False(Directory.Exists(killed));
        Assert.False(File.Exists(killedFile));
    }

    static void AssertRefusedOrFails((int Code, string Error) r) => Assert.NotEqual(0, r.Code);
}
