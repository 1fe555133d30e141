namespace SamEngine.Tests;

/// <summary>Runs the `sam` CLI in process with stdout and stderr captured.</summary>
public static class SamCli
{
    public static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try { return (SamEngine.Tools.Program.Main(args), o.ToString(), e.ToString()); }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }
}
