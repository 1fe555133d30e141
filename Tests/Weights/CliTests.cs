using SamEngine.Tools;
using SamEngine.Weights;
using SamEngine.Weights.Safetensors;

namespace SamEngine.Tests.Weights;

[CollectionDefinition("console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>`sam convert` and `sam info` run in-process through Program.Main, with stdout and stderr captured.</summary>
[Collection("console")]
public class CliTests
{
    static (int Code, string Out, string Err) Sam(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            return (Program.Main(args), o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [SkippableFact]
    public void ConvertAndInfoWorkOnTheFixture()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        using var tmp = new TempFolder();
        var output = tmp.File("sam_mini.safetensors");

        var (code, stdout, stderr) = Sam("convert", pth, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains("202 tensors, 9,165,104 parameters, float32", stdout);
        Assert.Equal([OutputStamp.StampPathForFiles(output), output], Directory.GetFiles(tmp.Path).Order(StringComparer.Ordinal));

        (code, stdout, stderr) = Sam("info", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("format    safetensors", stdout);
        Assert.Contains("ViT width 256, depth 4, 4 heads (head dim 64)", stdout);
        Assert.Contains("global attention in blocks 1, 3, window 14", stdout);
        Assert.Contains("1024×1024, patch 16, embedding 256×64×64", stdout);
        Assert.Contains("depth 2, MLP 2048, 8 heads", stdout);
        Assert.Contains("9,165,104 parameters", stdout);
        Assert.Contains("metadata  embed_dim = 256", stdout);

        (code, stdout, _) = Sam("info", pth);
        Assert.Equal(0, code);
        Assert.Contains("PyTorch zip checkpoint", stdout);

        (code, stdout, stderr) = Sam("convert", pth, "-o", tmp.File("half.safetensors"), "--dtype", "fp16");
        Assert.True(code == 0, stderr);
        Assert.Contains("float16", stdout);
        using var half = StateDict.Load(tmp.File("half.safetensors"));
        Assert.All(half.Tensors.Values, t => Assert.Equal(DType.F16, t.DType));
    }

    [SkippableFact]
    public void BadInputsGiveOneLineAndNoOutput()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("junk.pth"), "this is not a checkpoint"u8.ToArray());
        File.WriteAllBytes(tmp.File("evil.pth"), PthBuilder.Zip("sam_vit_h_4b8939",
            new PickleWriter().Proto(2).Global("os", "system").Str("touch " + tmp.File("PWNED")).Tuple1().Reduce().Stop().ToArray(), []));
        File.WriteAllBytes(tmp.File("small.pth"), new PthBuilder().Whole("fc.weight", [2], DType.F32, FixtureTensors.Floats(1, 2)).Build());
        var cut = new PthBuilder().Whole("a", [2], DType.F32, FixtureTensors.Floats(1, 2)).Build();
        File.WriteAllBytes(tmp.File("cut.pth"), cut[..(cut.Length / 2)]);
        var before = Directory.GetFiles(tmp.Path).Order().ToList();

        string[][] runs =
        [
            ["convert", tmp.File("junk.pth"), "-o", tmp.File("out.safetensors")],
            ["convert", tmp.File("evil.pth"), "-o", tmp.File("out.safetensors")],
            ["convert", tmp.File("small.pth"), "-o", tmp.File("out.safetensors")],
            ["convert", tmp.File("cut.pth"), "-o", tmp.File("out.safetensors")],
            ["convert", tmp.File("absent.pth"), "-o", tmp.File("out.safetensors")],
            ["convert", pth, "-o", tmp.File("out.safetensors"), "--dtype", "fp8"],
            ["convert", pth, "-o", Path.Combine(tmp.Path, "no-such-folder", "out.safetensors")],
            ["convert", tmp.File("junk.pth")], // default output beside the input
            ["info", tmp.File("evil.pth")],
            ["info", tmp.File("small.pth")],
        ];
        string[] says = ["not a PyTorch zip checkpoint", "os.system", "not a SAM state dict", "truncated", "file not found", "--dtype", "does not exist",
            "not a PyTorch zip checkpoint", "refusing", "no tensor 'image_encoder.patch_embed.proj.weight'"];
        for (int i = 0; i < runs.Length; i++)
        {
            var (code, stdout, stderr) = Sam(runs[i]);
            var label = string.Join(' ', runs[i]);
            Assert.True(code != 0, $"{label}: exit code 0");
            var lines = stderr.TrimEnd().Split('\n');
            Assert.True(lines.Length == 1 && lines[0].StartsWith("sam: error: "), $"{label}: stderr was '{stderr}'");
            Assert.True(stderr.Contains(says[i]), $"{label}: '{stderr.Trim()}' does not say '{says[i]}'");
            Assert.Equal("", stdout);
            Assert.Equal(before, Directory.GetFiles(tmp.Path).Order().ToList());
        }
    }

    [SkippableFact]
    public void ConvertingOntoTheInputIsRefused()
    {
        var pth = Fixtures.Require("sam-mini/sam_mini.pth");
        using var tmp = new TempFolder();
        var st = tmp.File("m.safetensors");
        Assert.Equal(0, Sam("convert", pth, "-o", st).Code);
        var (code, _, stderr) = Sam("convert", st);
        Assert.Equal(1, code);
        Assert.Contains("would overwrite the input", stderr);
    }

    [SkippableFact]
    public void NonFiniteWeightsAreReportedAndRefused()
    {
        using var sd = StateDict.Load(Fixtures.Require("sam-mini/sam_mini.pth"));
        using var tmp = new TempFolder();
        var tensors = sd.Tensors.Values.Select(t => t.Name != "image_encoder.neck.1.bias" ? t
            : new WeightTensor(t.Name, t.Shape, t.DType, () => { var v = t.ToFloat32(); v[3] = float.NaN; v[7] = float.PositiveInfinity; return v; })).ToList();
        // Written around the writer's own refusal, as a hostile or broken file would come.
        using (var stream = File.Create(tmp.File("nan.safetensors"))) SafetensorsWriter.WriteTo(stream, tensors, new Dictionary<string, string>(), null);

        var (code, stdout, stderr) = Sam("info", tmp.File("nan.safetensors"));
        Assert.Equal(0, code);
        Assert.Contains("ViT width 256", stdout);
        Assert.Contains("sam: warning: ", stderr);
        Assert.Contains("'image_encoder.neck.1.bias' has 2 NaN/Inf values", stderr);

        (code, _, stderr) = Sam("convert", tmp.File("nan.safetensors"), "-o", tmp.File("out.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("'image_encoder.neck.1.bias' has 2 NaN/Inf values", stderr);
        Assert.False(File.Exists(tmp.File("out.safetensors")));
        Assert.Single(Directory.GetFileSystemEntries(tmp.Path));

        File.Copy(Fixtures.Require("sam-mini/shapes.png"), tmp.File("shapes.png"));
        (code, _, stderr) = Sam("embed", "--model", tmp.File("nan.safetensors"), "--image", tmp.File("shapes.png"), "-o", tmp.File("e.npy"), "--device", "cpu");
        Assert.Equal(1, code);
        Assert.Contains("'image_encoder.neck.1.bias' has 2 NaN/Inf values; a checkpoint with non-finite weights is refused", stderr);
        Assert.DoesNotContain('\n', stderr.TrimEnd());
        Assert.False(File.Exists(tmp.File("e.npy")));
    }
}
