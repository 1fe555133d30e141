using System.Diagnostics;
using System.Globalization;

namespace SamEngine.Tools.Bench;

/// <summary>
/// libjpeg-turbo's time on the same file in the same run, through Pillow (Debian's python3-pil:
/// Image.open(f).convert("RGB"), one warm-up then timed runs in one Python process). Python is
/// $SAM_PYTHON, else the first of python3 and /usr/bin/python3 that has PIL.
/// </summary>
internal static class PillowBaseline
{
    const string Script = """
        import sys, time
        from PIL import Image
        path, n = sys.argv[1], int(sys.argv[2])
        Image.open(path).convert("RGB")
        times = []
        for _ in range(n):
            t = time.perf_counter()
            Image.open(path).convert("RGB")
            times.append((time.perf_counter() - t) * 1000)
        print(" ".join("%.4f" % t for t in times))
        """;

    /// <summary>Pillow's milliseconds per run, or null and why not.</summary>
    public static (IReadOnlyList<double>? Ms, string? Why) Time(string imagePath, int runs)
    {
        var env = Environment.GetEnvironmentVariable("SAM_PYTHON");
        string? why = null;
        foreach (var python in env != null ? [env] : new[] { "python3", "/usr/bin/python3" })
        {
            var (ok, output) = RunPython(python, [imagePath, runs.ToString(CultureInfo.InvariantCulture)]);
            if (ok) return (output.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToList(), null);
            why ??= output;
        }
        return (null, $"Pillow not available ({why}; apt-get install python3-pil, or set SAM_PYTHON)");
    }

    static (bool Ok, string Output) RunPython(string python, string[] args)
    {
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        foreach (var a in args) start.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(start)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var lastError = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit code {p.ExitCode}";
            return p.ExitCode == 0 ? (true, stdout.Result.Trim()) : (false, $"{python}: {lastError.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception) { return (false, $"{python} not found"); }
    }
}
