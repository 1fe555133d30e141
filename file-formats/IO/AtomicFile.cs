using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// Writes a file as a whole or not at all: the content goes to a temporary file in the same
/// folder (so the rename cannot cross file systems), which then replaces the target.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new SamException($"{path}: folder {dir} does not exist");
        TempNames.RemoveStale(dir, Path.GetFileName(full)); // what a killed earlier run left for this file
        var temp = TempNames.For(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException)
                throw new SamException($"{path}: cannot write ({e.Message})", e);
            throw;
        }
    }
}
