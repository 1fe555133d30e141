using System.CommandLine;
using SamEngine.Tools.Commands;

namespace SamEngine.Tools;

public static class Program
{
    public static int Main(string[] args)
    {
        // Tables stay readable when output goes to a file or CI log instead of a terminal.
        if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 200;
        var root = new RootCommand("SamEngine: Segment Anything on hand-written kernels (CUDA, OpenCL, CPU).");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(KernelsCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(SegmentCommand.Create());
        return root.Parse(args).Invoke();
    }
}
