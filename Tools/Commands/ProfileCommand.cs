using System.CommandLine;

namespace SamEngine.Tools.Commands;

/// <summary>
/// `sam profile`: the bench for one full run (one timed run per stage after the warm-up), with
/// every kernel, the time per model stage, and a Chrome trace of every launch (sam-trace.json
/// unless --trace says otherwise).
/// </summary>
internal static class ProfileCommand
{
    public const string DefaultTrace = "sam-trace.json";

    public static Command Create() => BenchCommand.Build("profile",
        "One profiled run of every stage: per-kernel and per-stage tables and a Chrome trace.", repeatDefault: 1, profileDefault: true, traceDefault: DefaultTrace);
}
