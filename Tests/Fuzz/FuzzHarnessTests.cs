using SamEngine.Engine;

namespace SamEngine.Tests.Fuzz;

/// <summary>The harness itself: it tells refusals from failures, sees time and allocation, groups, and is deterministic.</summary>
public class FuzzHarnessTests
{
    static FuzzInput Input(string what) => new(0, "synthetic", what, "input.bin", System.Text.Encoding.ASCII.GetBytes(what), what);

    [SkippableFact]
    public void ClassifiesEveryOutcomeAndGroupsFailures()
    {
        Skip.If(FuzzBudget.Replay != null, "SAM_FUZZ_REPLAY is set");
        string[] kinds = ["ok", "refuse", "index", "index", "allocate", "slow", "postcondition"];
        var run = new FuzzRun("harness-self-test") { Timeout = TimeSpan.FromMilliseconds(200), Grace = TimeSpan.FromSeconds(5) };
        run.Run([Input("ok")], kinds.Length, r => Input(kinds[run.Cases]), input =>
        {
            switch (input.Text)
            {
                case "refuse": throw new SamException("a user error");
                case "index": { var a = new int[1]; _ = a[input.Text.Length]; break; }
                case "allocate": GC.KeepAlive(new byte[100 << 20]); break;
                case "slow": Thread.Sleep(600); break;
                case "postcondition": throw new FuzzFailure("postcondition: test", "broken", "(accepted by the test)");
            }
        });
        Assert.Equal(kinds.Length, run.Cases);
        Assert.Equal(1, run.Accepted);
        Assert.Equal(1, run.Refused);
        Assert.Equal(5, run.Failures.Count);
        var report = run.Report();
        Assert.Contains("System.IndexOutOfRangeException at", report);
        Assert.Contains("2 case(s)", report); // the two index failures form one group
        Assert.Contains("allocation at (then accepted)", report);
        Assert.Contains("time at (then accepted)", report);
        Assert.Contains("postcondition: test at (accepted by the test)", report);
        Assert.Contains("replay: SAM_FUZZ_REPLAY=harness-self-test:2", report);
        Assert.Contains(Convert.ToHexStringLower("index"u8), report);
    }

    [Fact]
    public void CasesAndMutationsAreReproducible()
    {
        var run = new FuzzRun("npy");
        var seed = Enumerable.Range(0, 200).Select(i => (byte)i).ToArray();
        var a = Mutator.Mutate(run.CaseRandom(17), seed);
        var b = Mutator.Mutate(run.CaseRandom(17), seed);
        Assert.Equal(a.Bytes, b.Bytes);
        Assert.Equal(a.Description, b.Description);
        Assert.Equal(Mutator.MutateText(run.CaseRandom(3), "{'shape': (2, 3)}"), Mutator.MutateText(run.CaseRandom(3), "{'shape': (2, 3)}"));
        // A stable hash, not string.GetHashCode (which differs between processes).
        Assert.Equal(FuzzRun.StableHash(0, "npy", 17), FuzzRun.StableHash(0, "npy", 17));
        Assert.NotEqual(FuzzRun.StableHash(0, "npy", 17), FuzzRun.StableHash(0, "png", 17));
    }
}
