using SamEngine.Weights;

namespace SamEngine.Tests.Weights;

/// <summary>
/// Hostile data.pkl files inside archives that look like real checkpoints. Each payload would
/// create a marker file if it ran; the loader must refuse it by naming the global, and the
/// marker must never appear.
/// </summary>
public class PickleSecurityTests
{
    static PickleWriter Dict() => new PickleWriter().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();

    static PickleWriter ValidEntry(PickleWriter w) => w.Str("image_encoder.pos_embed").Tensor("FloatStorage", "0", 4, 0, [4], [1]);

    public static IEnumerable<object[]> Payloads()
    {
        // (label, global the error must name, payload builder taking the marker path)
        yield return ["os.system top level", "os.system", (Func<string, byte[]>)(m =>
            new PickleWriter().Proto(2).Global("os", "system").Str($"touch '{m}'").Tuple1().Reduce().Stop().ToArray())];
        yield return ["posix.system", "posix.system", (Func<string, byte[]>)(m =>
            new PickleWriter().Proto(2).Global("posix", "system").Str($"touch '{m}'").Tuple1().Reduce().Stop().ToArray())];
        yield return ["builtins.eval", "builtins.eval", (Func<string, byte[]>)(m =>
            new PickleWriter().Proto(2).Global("builtins", "eval").Str($"open(r'{m}', 'w')").Tuple1().Reduce().Stop().ToArray())];
        yield return ["os.system nested in the OrderedDict after a valid tensor", "os.system", (Func<string, byte[]>)(m =>
            ValidEntry(Dict()).Str("evil").Global("os", "system").Str($"touch '{m}'").Tuple1().Reduce().SetItems().Stop().ToArray())];
        yield return ["builtins.eval as backward hooks of a tensor", "builtins.eval", (Func<string, byte[]>)(m =>
            Dict().Str("t").Global("torch._utils", "_rebuild_tensor_v2").Mark()
                .Mark().Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(4).Tuple().BinPersId()
                .Int(0).Ints([4]).Ints([1]).False().Global("builtins", "eval").Str($"open(r'{m}', 'w')").Tuple1().Reduce()
                .Tuple().Reduce().SetItems().Stop().ToArray())];
        yield return ["subprocess via STACK_GLOBAL with memoized strings", "subprocess.check_output", (Func<string, byte[]>)(m =>
            new PickleWriter().Proto(4).ShortStr("subprocess").Memoize().ShortStr("check_output").Memoize().StackGlobal()
                .Mark().Str("touch").Str(m).Op('l').Tuple1().Reduce().Stop().ToArray())];
        yield return ["STACK_GLOBAL from memo slots", "os.system", (Func<string, byte[]>)(m =>
            new PickleWriter().Proto(4).ShortStr("os").BinPut(0).Op('0').ShortStr("system").BinPut(1).Op('0')
                .BinGet(0).BinGet(1).StackGlobal().Str($"touch '{m}'").Tuple1().Reduce().Stop().ToArray())];
        yield return ["INST", "os.system", (Func<string, byte[]>)(m =>
            new PickleWriter().Proto(0).Mark().Str($"touch '{m}'").Op('i').Raw("os\nsystem\n"u8.ToArray()).Stop().ToArray())];
        yield return ["torch's own byte loader", "torch.storage._load_from_bytes", (Func<string, byte[]>)(m =>
            ValidEntry(Dict()).Str("x").Global("torch.storage", "_load_from_bytes").Str(m).Tuple1().Reduce().SetItems().Stop().ToArray())];
        yield return ["a lookalike of an allowed name", "torch._utils._rebuild_tensor_v2 ", (Func<string, byte[]>)(m =>
            ValidEntry(Dict()).Str("x").Global("torch._utils", "_rebuild_tensor_v2 ").Str(m).Tuple1().Reduce().SetItems().Stop().ToArray())];
    }

    [Theory]
    [MemberData(nameof(Payloads))]
    public void MaliciousPicklesAreRefusedByName(string label, string global, Func<string, byte[]> payload)
    {
        using var tmp = new TempFolder();
        var marker = tmp.File("PWNED");
        var path = tmp.File("sam_vit_b_01ec64.pth");
        File.WriteAllBytes(path, PthBuilder.Zip("sam_vit_b_01ec64", payload(marker), [("0", new byte[16])]));

        var e = Assert.Throws<CheckpointException>(() => StateDict.Load(path));
        Assert.Contains("refusing", e.Message);
        Assert.Contains(global, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(marker), $"{label}: the payload ran");
    }

    [Fact]
    public void RunTimeGlobalNamesAreRefused()
    {
        // STACK_GLOBAL whose operands are not plain strings cannot be checked, so it is refused.
        using var tmp = new TempFolder();
        var pickle = new PickleWriter().Proto(4).Global("collections", "OrderedDict").EmptyTuple().Reduce().ShortStr("x").StackGlobal().Stop().ToArray();
        File.WriteAllBytes(tmp.File("a.pth"), PthBuilder.Zip("a", pickle, []));
        Assert.Contains("STACK_GLOBAL", Assert.Throws<CheckpointException>(() => StateDict.Load(tmp.File("a.pth"))).Message);
    }

    [Theory]
    [InlineData(0x81, "NEWOBJ")]
    [InlineData(0x82, "EXT1")]
    [InlineData((byte)'o', "OBJ")]
    public void ObjectBuildingOpcodesAreRefused(byte op, string name)
    {
        using var tmp = new TempFolder();
        var pickle = new PickleWriter().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Op(op).Byte(1).Stop().ToArray();
        File.WriteAllBytes(tmp.File("a.pth"), PthBuilder.Zip("a", pickle, []));
        Assert.Contains(name, Assert.Throws<CheckpointException>(() => StateDict.Load(tmp.File("a.pth"))).Message);
    }

    [Fact]
    public void TheAllowListIsExactlyWhatAStateDictNeeds()
    {
        Assert.Equal(
            ["collections.OrderedDict", "torch.BFloat16Storage", "torch.FloatStorage", "torch.HalfStorage", "torch.LongStorage", "torch._utils._rebuild_parameter", "torch._utils._rebuild_tensor_v2"],
            SamEngine.Weights.Pth.PickleGuard.AllowedGlobals.Order(StringComparer.Ordinal));
    }
}
