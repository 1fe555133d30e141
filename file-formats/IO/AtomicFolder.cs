using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// Writes a folder as a whole or not at all: the content goes to a hidden sibling folder, is
/// stamped as the writer's (<see cref="OutputStamp"/>), and then replaces the
/// target — which, if it exists, must be an earlier stamped output of sam's, unchanged.
/// </summary>
internal static class AtomicFolder
{
    /// <param name="label">how errors name the target (e.g. "--out-dir out").</param>
    /// <param name="writer">the command, recorded in the stamp (e.g. "sam segment").</param>
    public static void Write(string target, string label, string writer, Action<string> write)
    {
        var full = Path.GetFullPath(target);
        var parent = Path.GetDirectoryName(full);
        if (parent == null || !Directory.Exists(parent)) throw new SamException($"{label}: folder {parent} does not exist");
        OutputStamp.CheckMayReplace(label, full);
        TempNames.RemoveStale(parent, Path.GetFileName(full)); // what a killed earlier run left for this folder
        var temp = TempNames.For(full);
        try
        {
            Directory.CreateDirectory(temp);
            write(temp);
            OutputStamp.StampFolder(temp, writer);
            if (Directory.Exists(full))
            {
                OutputStamp.CheckMayReplace(label, full);
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
