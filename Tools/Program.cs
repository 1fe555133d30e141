using System.CommandLine;
using Spectre.Console;
using SamEngine.Tools.Commands;

namespace SamEngine.Tools;

internal static class Program
{
    public static int Main(string[] args)
    {
        // Spectre caches the writer it first saw; bind it to this call's Console.Out so that
        // in-process callers (tests) that redirect the console get the output.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        // Tables stay readable when output goes to a file or CI log instead of a terminal.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;
        var root = new RootCommand("SamEngine: Segment Anything on hand-written kernels (CUDA, OpenCL, CPU).");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(KernelsCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(SegmentCommand.Create());
        root.Subcommands.Add(AmgCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 && args.Length > 0)
        {
            // One line, as every user error: the first problem and where help is, not the whole help text.
            var command = parsed.CommandResult.Command == root ? "" : parsed.CommandResult.Command.Name + " ";
            var first = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
            Console.Error.WriteLine($"sam: error: {Plain(first.Message)}" +
                (parsed.Errors.Count > 1 ? $" (and {parsed.Errors.Count - 1} more)" : "") + $"; see `sam {command}--help`");
            return 1;
        }
        return parsed.Invoke();
    }

    static string Plain(string message) => message.ReplaceLineEndings(" ").Trim().TrimEnd('.')
        .Replace(" as expected type 'System.Int32'", " as an integer")
        .Replace(" as expected type 'System.Double'", " as a number")
        .Replace(" as expected type 'System.Single'", " as a number")
        .Replace(" as expected type 'System.Boolean'", " as true or false");
}
