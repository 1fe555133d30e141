using System.Text.RegularExpressions;

namespace SamEngine.FileFormats;

/// <summary>
/// The hidden names outputs are written under before they are renamed into place:
/// <c>.NAME.sam-PID-GUID.tmp</c>. The process id tells a stale one (its writer is gone: killed,
/// or the machine stopped) from one another process is writing right now, so a resumed run
/// removes only its own kind's leftovers, never anything else.
/// </summary>
internal static partial class TempNames
{
    public static string For(string fullPath) =>
        Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.sam-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");

    [GeneratedRegex(@"^\..+\.sam-(?<pid>\d+)-[0-9a-f]{32}\.tmp$")]
    private static partial Regex Pattern();

    /// <summary>
    /// Removes the temporary files and folders in <paramref name="folder"/> whose writing process
    /// no longer runs — only those for <paramref name="target"/> when it is given; returns how many.
    /// </summary>
    public static int RemoveStale(string folder, string? target = null)
    {
        if (!Directory.Exists(folder)) return 0;
        int removed = 0;
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, target == null ? "*" : $".{target}.sam-*.tmp"))
        {
            var m = Pattern().Match(Path.GetFileName(entry));
            if (!m.Success || !int.TryParse(m.Groups["pid"].Value, out int pid) || IsRunning(pid)) continue;
            try
            {
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else File.Delete(entry);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return removed;
    }

    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
