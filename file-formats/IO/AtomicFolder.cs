using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// Writes a folder as a whole or not at all: the content goes to a hidden sibling folder, which
/// then replaces the target. An existing target is first shown to <c>mayReplace</c>, which throws
/// if it is not a previous output that may be deleted.
/// </summary>
public static class AtomicFolder
{
    /// <param name="label">how errors name the target (e.g. "--out-dir out").</param>
    public static void Write(string target, string label, Action<string> write, Action<string> mayReplace)
    {
        var full = Path.GetFullPath(target);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(temp);
            write(temp);
            if (Directory.Exists(full))
            {
                mayReplace(full);
                Directory.Delete(full, recursive: true);
            }
            Directory.Move(temp, full);
        }
        catch (Exception e)
        {
            try { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException) throw new SamException($"{label}: cannot write ({e.Message})", e);
            throw;
        }
    }
}
