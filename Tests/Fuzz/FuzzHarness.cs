using System.Diagnostics;
using System.Globalization;
using System.Text;
using SamEngine.Engine;
using Xunit.Abstractions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// The seeded mutation fuzzer's budget and knobs, read once from the environment.
/// <para>
/// Every format's test (Tests/Fuzz/*FuzzTests.cs) mutates small valid seeds with a
/// <see cref="System.Random"/> seeded from (SAM_FUZZ_SEED, the format's name, the case number),
/// so a case is the same on every machine and every run. Each case must succeed or fail with the
/// engine's user error (<see cref="SamException"/>, which <c>CheckpointException</c> derives from);
/// any other exception, a case over the time limit, or one allocating more than
/// 64 MB + 64 × its input's size, is a failure. A run collects every failing case and reports them
/// grouped by format, failure kind and the product-code frame that threw.
/// </para>
/// <para>The default (CI) run, about 40,000 cases in all, in well under three minutes:</para>
/// <code>dotnet test Tests/Tests.csproj -c Release --filter FullyQualifiedName~Fuzz</code>
/// <para>A long (overnight) run: set the total number of cases; each format takes its fixed share of it:</para>
/// <code>SAM_FUZZ_CASES=2000000 SAM_FUZZ_SEED=7 dotnet test Tests/Tests.csproj -c Release --filter FullyQualifiedName~Fuzz \
///     --logger "console;verbosity=detailed"</code>
/// <list type="bullet">
/// <item>SAM_FUZZ_CASES: the total number of cases over all fuzz tests (default 40,000). The older
/// checkpoint fuzzer (Tests/Weights/FuzzTests.cs) reads the same variable through
/// <see cref="LegacyShare"/>, so the variable means one thing everywhere.</item>
/// <item>SAM_FUZZ_SEED: the base seed (default 0); another value gives other cases.</item>
/// <item>SAM_FUZZ_TIMEOUT_MS: the per-case time limit (default 2000).</item>
/// <item>SAM_FUZZ_REPLAY=format:case (e.g. npy-header:1234, as failure messages print it): runs that one
/// case alone and dumps its input; every other fuzz test then runs nothing.</item>
/// <item>SAM_FUZZ_HEAP_LIMIT_MB: a GC heap hard limit while the fuzz tests run (default 1024; 0: none),
/// so that a runaway allocation fails fast with its stack instead of exhausting the machine.
/// To find where a smaller "allocation" failure allocates, replay it under a lower limit, e.g.
/// <c>SAM_FUZZ_REPLAY=png:3152 DOTNET_GCHeapHardLimit=0x8000000 dotnet test …</c> (128 MB): the allocation then
/// throws OutOfMemoryException and the report shows its product frame.</item>
/// <item>SAM_FUZZ_DUMP: a folder for failing inputs (default $TMPDIR/samengine-fuzz); the first
/// three of each failure group are written there, every failing input with SAM_FUZZ_DUMP_ALL=1.</item>
/// </list>
/// </summary>
public static class FuzzBudget
{
    public const int DefaultTotal = 40_000;

    public static int Total { get; } = Int("SAM_FUZZ_CASES") is > 0 and var n ? n : DefaultTotal;

    public static int BaseSeed { get; } = Int("SAM_FUZZ_SEED") ?? 0;

    public static TimeSpan CaseTimeout { get; } = TimeSpan.FromMilliseconds(Int("SAM_FUZZ_TIMEOUT_MS") is > 0 and var t ? t : 2000);

    public static string DumpFolder { get; } = Environment.GetEnvironmentVariable("SAM_FUZZ_DUMP") is { Length: > 0 } d
        ? d : Path.Combine(Path.GetTempPath(), "samengine-fuzz");

    public static bool DumpAll { get; } = Environment.GetEnvironmentVariable("SAM_FUZZ_DUMP_ALL") is "1" or "true";

    /// <summary>SAM_FUZZ_REPLAY parsed: the one (format, case) to run, or null.</summary>
    public static (string Format, int Case)? Replay { get; } = ParseReplay(Environment.GetEnvironmentVariable("SAM_FUZZ_REPLAY"));

    /// <summary>A format's number of cases: its fraction of the total, at least <paramref name="min"/>.</summary>
    public static int Share(double fraction, int min = 10) => Math.Max(min, (int)Math.Round(Total * fraction));

    /// <summary>
    /// The case count of each test of Tests/Weights/FuzzTests.cs: its historical 1200 by default, and
    /// with SAM_FUZZ_CASES set, a share of that total like every other format's.
    /// </summary>
    public static int LegacyShare(int defaultCases, double fraction) =>
        Int("SAM_FUZZ_CASES") is > 0 ? Share(fraction) : defaultCases;

    static int? Int(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    static (string, int)? ParseReplay(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var c))
            throw new ArgumentException($"SAM_FUZZ_REPLAY '{text}': expected format:case, e.g. npy-header:1234");
        return (text[..colon], c);
    }
}

/// <summary>One file of a fuzz case, by the name it is dumped under.</summary>
public sealed record FuzzFile(string Name, byte[] Bytes);

/// <summary>
/// One generated case: which seed it came from, what was done to it, and the bytes (the first file
/// is the mutated one; others go with it, e.g. an embedding's .json beside its .npy). Text cases
/// carry their text too, for the report.
/// </summary>
public sealed record FuzzInput(int Seed, string SeedName, string Mutation, IReadOnlyList<FuzzFile> Files, string? Text = null)
{
    public FuzzInput(int seed, string seedName, string mutation, string fileName, byte[] bytes, string? text = null)
        : this(seed, seedName, mutation, [new FuzzFile(fileName, bytes)], text) { }

    public byte[] Bytes => Files[0].Bytes;
    public long Size => Files.Sum(f => (long)f.Bytes.Length);

    /// <summary>The first bytes in hex, for the report.</summary>
    public string HexPrefix(int count = 32) =>
        Convert.ToHexStringLower(Bytes.AsSpan(0, Math.Min(count, Bytes.Length))) + (Bytes.Length > count ? "…" : "");

    /// <summary>Writes the case's files to <paramref name="folder"/>; returns the first one's path.</summary>
    public string Dump(string folder)
    {
        Directory.CreateDirectory(folder);
        string first = "";
        foreach (var f in Files)
        {
            var path = Path.Combine(folder, f.Name);
            File.WriteAllBytes(path, f.Bytes);
            if (first.Length == 0) first = path;
        }
        return first;
    }
}

/// <summary>
/// A failure found by the execute step itself (a broken postcondition, or a crash reported by the
/// CLI's output): grouped under <see cref="Kind"/> at <see cref="Location"/>.
/// </summary>
public sealed class FuzzFailure(string kind, string message, string? location = null) : Exception(message)
{
    public string Kind { get; } = kind;
    public string? Location { get; } = location;
}

/// <summary>
/// Runs one format's cases, each on a pool thread under a time limit with its allocation measured,
/// and collects every failure. <see cref="AssertClean"/> fails the test with all of them, grouped.
/// </summary>
public sealed class FuzzRun(string format, ITestOutputHelper? output = null)
{
    public string Format { get; } = format;
    public TimeSpan Timeout { get; init; } = FuzzBudget.CaseTimeout;
    /// <summary>How long a case over its limit is awaited before it counts as a hang.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Hangs after which the rest of the format is abandoned (a hung case keeps its thread busy).</summary>
    public int MaxHangs { get; init; } = 3;
    public long AllocationBase { get; init; } = 64L << 20;
    public long AllocationPerInputByte { get; init; } = 64;
    /// <summary>Whether a seed may be refused (the CLI cases end in a refusal by design); it must still not fail.</summary>
    public bool SeedsMayBeRefused { get; init; }

    public int Cases { get; private set; }
    public int Accepted { get; private set; }
    public int Refused { get; private set; }
    public TimeSpan Elapsed { get; private set; }
    public string? Skipped { get; private set; }
    public IReadOnlyList<Failure> Failures => failures;

    readonly List<Failure> failures = [];
    readonly Dictionary<string, int> groupDumps = [];
    readonly Dictionary<string, int> refusals = [];
    int hangs;
    string? aborted;

    public sealed record Failure(int Case, FuzzInput Input, string Kind, string Location, string Detail, string? Dump);

    /// <summary>The Random of case <paramref name="index"/>: a function of the base seed, the format and the index only.</summary>
    public Random CaseRandom(int index) => new(StableHash(FuzzBudget.BaseSeed, Format, index));

    /// <summary>
    /// Checks that every seed is accepted (this also compiles the code paths, outside the time
    /// limit), then runs cases 0..count-1: <paramref name="generate"/> builds each (outside the
    /// measurement) and <paramref name="execute"/> runs it; it returns normally when the input is
    /// accepted and throws <see cref="SamException"/> when it is refused.
    /// </summary>
    public void Run(IReadOnlyList<FuzzInput> seeds, int count, Func<Random, FuzzInput> generate, Action<FuzzInput> execute)
    {
        using var limit = HeapLimit.Apply(output);
        RunLimited(seeds, count, generate, execute);
    }

    void RunLimited(IReadOnlyList<FuzzInput> seeds, int count, Func<Random, FuzzInput> generate, Action<FuzzInput> execute)
    {
        var clock = Stopwatch.StartNew();
        if (FuzzBudget.Replay is var (replayFormat, replayCase))
        {
            if (replayFormat != Format)
            {
                Skipped = $"SAM_FUZZ_REPLAY={replayFormat}:{replayCase} names another format";
                output?.WriteLine($"fuzz {Format}: skipped ({Skipped})");
                return;
            }
            var input = generate(CaseRandom(replayCase));
            var path = input.Dump(Path.Combine(FuzzBudget.DumpFolder, $"{Format}-case{replayCase}"));
            output?.WriteLine($"fuzz {Format}: replaying case {replayCase} ({Describe(input)}), dumped to {path}");
            RunCase(replayCase, input, execute);
            Finish(clock);
            return;
        }

        for (int s = 0; s < seeds.Count; s++)
        {
            var outcome = Measure(seeds[s], execute, TimeSpan.FromSeconds(120));
            if ((outcome.Error != null && !(SeedsMayBeRefused && outcome.Error is SamException)) || !outcome.Finished)
                failures.Add(new Failure(-1 - s, seeds[s], "seed not accepted", Where(outcome.Error),
                    outcome.Error is { } e ? $"{e.GetType().Name}: {OneLine(e.Message)}" : "did not finish", null));
        }
        for (int i = 0; i < count && aborted == null; i++)
            RunCase(i, generate(CaseRandom(i)), execute);
        Finish(clock);
    }

    void Finish(Stopwatch clock)
    {
        Elapsed = clock.Elapsed;
        output?.WriteLine(Summary());
        // Where the refusals come from: mutations should reach past the first check.
        foreach (var (message, n) in refusals.OrderByDescending(p => p.Value).Take(6))
            output?.WriteLine($"  refused {n}×: {message}");
        foreach (var line in Report().Split('\n').Skip(1)) output?.WriteLine(line);
    }

    void RunCase(int index, FuzzInput input, Action<FuzzInput> execute)
    {
        Cases++;
        var o = Measure(input, execute, Timeout);
        long bound = AllocationBase + AllocationPerInputByte * input.Size + o.Allowance;
        string? kind = null, detail = null;
        string location = Where(o.Error);
        if (o.Error is FuzzFailure ff)
        {
            kind = ff.Kind;
            location = ff.Location ?? location;
            detail = OneLine(ff.Message);
        }
        else if (o.Error is { } e and not SamException)
        {
            kind = e.GetType().FullName!;
            detail = OneLine(e.Message);
        }
        else if (!o.Finished)
        {
            kind = "hang";
            location = "(still running)";
            detail = $"did not finish within {Timeout.TotalSeconds:0.#} s + {Grace.TotalSeconds:0} s grace";
            // A thread cannot be stopped: wait for it (the heap limit ends most runaways with an
            // OutOfMemoryException), so that it does not disturb the next cases' measurements.
            if (o.Task.Wait(TimeSpan.FromSeconds(60)))
                detail += o.Task.Result is { } late ? $"; ended later with {late.GetType().FullName} at {Where(late)}: {OneLine(late.Message)}" : "; ended later";
            else aborted = $"abandoned at case {index}: a hung case is still running";
            if (++hangs >= MaxHangs) aborted ??= $"abandoned after {hangs} hangs at case {index}";
        }
        // Peak RSS also moves with the GC's own work (a compaction into fresh regions), so it gets slack:
        // it is there for native memory a decoder touches, which the GC counters do not see.
        else if (Math.Max(o.ThreadBytes, o.ProcessBytes) > bound || o.PeakRssBytes > 2 * bound + (128L << 20))
        {
            kind = "allocation";
            location = o.Error is SamException ? $"(then refused at {location})" : "(then accepted)";
            detail = $"allocated {Mb(o.ThreadBytes)} on its thread, {Mb(o.ProcessBytes)} in the process, peak RSS +{Mb(o.PeakRssBytes)}; bound {Mb(bound)}";
        }
        else if (o.Time > Timeout)
        {
            kind = "time";
            location = o.Error is SamException ? $"(then refused at {location})" : "(then accepted)";
            detail = $"took {o.Time.TotalSeconds:0.00} s, limit {Timeout.TotalSeconds:0.#} s";
        }

        if (kind == null)
        {
            if (o.Error == null) Accepted++;
            else
            {
                Refused++;
                var key = Normalize(o.Error.Message);
                refusals[key] = refusals.GetValueOrDefault(key) + 1;
            }
            return;
        }
        if (o.Time > Timeout && kind != "time" && kind != "hang") detail += $" (and took {o.Time.TotalSeconds:0.00} s)";
        string group = GroupKey(kind, location);
        groupDumps.TryGetValue(group, out int dumped);
        string? dump = null;
        if (dumped < 3 || FuzzBudget.DumpAll)
        {
            try { dump = input.Dump(Path.Combine(FuzzBudget.DumpFolder, $"{Format}-case{index}")); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { dump = $"(dump failed: {ex.Message})"; }
            groupDumps[group] = dumped + 1;
        }
        // Keep the bytes of the reported examples only.
        var kept = dumped < 3 ? input : input with { Files = [new FuzzFile(input.Files[0].Name, input.Bytes.AsSpan(0, Math.Min(32, input.Bytes.Length)).ToArray())] };
        failures.Add(new Failure(index, kept, kind, location, detail!, dump));
        // A case that allocated a lot (or ran out of memory) leaves garbage that would count against the
        // next one's peak RSS and heap limit: collect it, large objects included, so each case starts alike.
        if (Math.Max(o.ThreadBytes, o.ProcessBytes) > 256L << 20 || o.Error is OutOfMemoryException)
        {
            // Aggressive: the freed memory is decommitted now, not over the next seconds, so it does not
            // count against the heap limit when the next case allocates.
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    sealed record Outcome(bool Finished, Exception? Error, long ThreadBytes, long ProcessBytes, long PeakRssBytes, TimeSpan Time, Task<Exception?> Task)
    {
        public long Allowance { get; init; }
    }

    /// <summary>
    /// Called by a case that accepted its input: what the accepted result itself legitimately
    /// costs (an image's pixels), on top of the bound. Refusals get no such allowance.
    /// </summary>
    public static void AllowForResult(long bytes) => resultAllowance = bytes;

    [ThreadStatic] static long resultAllowance;

    Outcome Measure(FuzzInput input, Action<FuzzInput> execute, TimeSpan limit)
    {
        Exception? error = null;
        long threadBytes = 0, allowance = 0;
        PeakRss.Reset();
        long rssBefore = PeakRss.Current();
        long processBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            resultAllowance = 0;
            try { execute(input); }
            catch (Exception e) { error = e; }
            threadBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            allowance = error == null ? resultAllowance : 0;
            return error;
        });
        bool finished = run.Wait(limit) || run.Wait(Grace);
        var time = clock.Elapsed;
        long processBytes = GC.GetTotalAllocatedBytes(precise: true) - processBefore;
        long peak = Math.Max(0, PeakRss.Peak() - rssBefore);
        return new Outcome(finished, finished ? error : null, threadBytes, processBytes, peak, time, run) { Allowance = allowance };
    }

    /// <summary>Failures group by kind and product method (not line: one allocation per dtype is one bug).</summary>
    static string GroupKey(string kind, string location) =>
        $"{kind} at {System.Text.RegularExpressions.Regex.Replace(location, @" \([^()]*:\d+\)", "")}";

    public string Summary()
    {
        if (Skipped != null) return $"fuzz {Format}: skipped ({Skipped})";
        return $"fuzz {Format}: {Cases} cases (SAM_FUZZ_SEED={FuzzBudget.BaseSeed}) in {Elapsed.TotalSeconds:0.0} s: " +
            $"{Accepted} accepted, {Refused} refused, {failures.Count} failed" + (aborted != null ? $"; {aborted}" : "");
    }

    /// <summary>Every failure, grouped by kind and product-code location, with up to three examples each.</summary>
    public string Report()
    {
        var sb = new StringBuilder(Summary());
        foreach (var g in failures.GroupBy(f => GroupKey(f.Kind, f.Location)).OrderByDescending(g => g.Count()))
        {
            sb.Append($"\n  [{Format}] {g.Key}: {g.Count()} case(s)");
            foreach (var f in g.Take(3))
            {
                sb.Append($"\n    case {f.Case}: {Describe(f.Input)}");
                sb.Append($"\n      at {f.Location}: {f.Detail}");
                sb.Append(f.Case >= 0 ? $"\n      replay: SAM_FUZZ_REPLAY={Format}:{f.Case}" : "");
                if (f.Dump != null) sb.Append($"; dumped: {f.Dump}");
            }
            if (g.Count() > 3) sb.Append($"\n    … and cases {string.Join(", ", g.Skip(3).Take(20).Select(f => f.Case))}{(g.Count() > 23 ? ", …" : "")}");
        }
        return sb.ToString();
    }

    public void AssertClean()
    {
        Assert.True(failures.Count == 0, Report());
    }

    static string Describe(FuzzInput input)
    {
        var sb = new StringBuilder($"seed {input.Seed} ({input.SeedName}), mutation [{input.Mutation}], {input.Size} bytes, hex {input.HexPrefix()}");
        if (input.Text != null) sb.Append($", text \"{Escape(input.Text, 160)}\"");
        return sb.ToString();
    }

    public static string Escape(string s, int max)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > max ? s[..max] : s)
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                >= ' ' and < (char)127 => c.ToString(),
                _ => $"\\u{(int)c:x4}",
            });
        return sb + (s.Length > max ? "…" : "");
    }

    /// <summary>A refusal message without its paths and numbers, to count refusals by kind.</summary>
    static string Normalize(string message)
    {
        var s = System.Text.RegularExpressions.Regex.Replace(message, @"(?:/[^\s/]+){2,}/?:?", "PATH");
        s = System.Text.RegularExpressions.Regex.Replace(s, @"-?\d+(\.\d+)?", "N");
        s = System.Text.RegularExpressions.Regex.Replace(s, @"'[^']*'", "'_'");
        return Escape(s.ReplaceLineEndings(" "), 110);
    }

    static string OneLine(string s) => Escape(s.ReplaceLineEndings(" "), 300);

    static string Mb(long bytes) => $"{bytes / (1024.0 * 1024.0):0.0} MB";

    /// <summary>The first stack frame in product code (SamEngine.*, not the tests), with the frame that threw if that is elsewhere.</summary>
    public static string Where(Exception? e)
    {
        if (e == null) return "(none)";
        var frames = new StackTrace(e, fNeedFileInfo: true).GetFrames();
        string? thrower = null;
        foreach (var f in frames)
        {
            var m = f.GetMethod();
            var type = m?.DeclaringType;
            while (type?.DeclaringType != null && type.Name.StartsWith('<')) type = type.DeclaringType; // lambdas, iterators
            if (type == null) continue;
            string name = $"{type.Name}.{m!.Name}";
            thrower ??= $"{type.FullName}.{m.Name}";
            var ns = type.Namespace ?? "";
            if (ns.StartsWith("SamEngine", StringComparison.Ordinal) && !ns.StartsWith("SamEngine.Tests", StringComparison.Ordinal))
            {
                var file = f.GetFileName();
                string at = file != null ? $"{name} ({Path.GetFileName(file)}:{f.GetFileLineNumber()})" : name;
                return thrower.StartsWith("SamEngine", StringComparison.Ordinal) ? at : $"{at} via {thrower}";
            }
        }
        return thrower != null ? $"{thrower} (no product frame)" : "(no stack)";
    }

    public static int StableHash(int seed, string text, int index)
    {
        unchecked
        {
            uint h = 2166136261;
            foreach (var c in text) h = (h ^ c) * 16777619;
            h = (h ^ (uint)seed) * 16777619;
            h = (h ^ (uint)index) * 16777619;
            h ^= h >> 15;
            h *= 0x2C1B3C6D;
            h ^= h >> 12;
            return (int)(h & 0x7FFFFFFF);
        }
    }
}

/// <summary>
/// The fuzz tests run alone: a case's peak resident memory is the whole process's, so another
/// test encoding an image at the same moment would be counted against the case's bound.
/// </summary>
[CollectionDefinition("fuzz", DisableParallelization = true)]
public sealed class FuzzCollection;

/// <summary>
/// The process's peak resident memory during a case (Linux: VmHWM, reset through
/// /proc/self/clear_refs), which also sees native allocations a decoder touches (StbImageSharp
/// allocates with malloc). Zero where unavailable. Memory reserved but never touched is not seen.
/// </summary>
static class PeakRss
{
    static readonly bool Available = Probe();

    static bool Probe()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return Read("VmHWM:") > 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException) { return false; }
    }

    public static void Reset()
    {
        if (!Available) return;
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
    }

    public static long Current() => Available ? Read("VmRSS:") : 0;
    public static long Peak() => Available ? Read("VmHWM:") : 0;

    static long Read(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}

/// <summary>
/// A GC heap hard limit for the duration of a fuzz run (SAM_FUZZ_HEAP_LIMIT_MB, default 1024; 0
/// for none), applied with <see cref="GC.RefreshMemoryLimit"/>: a case that tries to allocate more
/// gets an OutOfMemoryException whose stack shows where, instead of taking the machine's memory
/// (a runaway loop on a thread that cannot be stopped would). Not applied when the process already
/// runs under a lower limit (DOTNET_GCHeapHardLimit, used to locate a smaller allocation on replay).
/// </summary>
sealed class HeapLimit : IDisposable
{
    public static long LimitBytes { get; } = (int.TryParse(Environment.GetEnvironmentVariable("SAM_FUZZ_HEAP_LIMIT_MB"), out var mb) && mb >= 0 ? mb : 1024) * (1L << 20);

    bool applied;

    public static HeapLimit Apply(ITestOutputHelper? output)
    {
        var h = new HeapLimit();
        if (LimitBytes == 0 || Environment.GetEnvironmentVariable("DOTNET_GCHeapHardLimit") != null) return h;
        var info = GC.GetGCMemoryInfo();
        if (info.TotalAvailableMemoryBytes <= LimitBytes) return h;
        long limit = Math.Max(LimitBytes, info.TotalCommittedBytes + (256L << 20));
        try
        {
            AppContext.SetData("GCHeapHardLimit", (ulong)limit);
            GC.RefreshMemoryLimit();
            h.applied = true;
        }
        catch (InvalidOperationException e)
        {
            AppContext.SetData("GCHeapHardLimit", null);
            output?.WriteLine($"fuzz: no heap limit ({e.Message})");
        }
        return h;
    }

    public void Dispose()
    {
        if (!applied) return;
        AppContext.SetData("GCHeapHardLimit", (ulong)0);
        GC.RefreshMemoryLimit();
    }
}
