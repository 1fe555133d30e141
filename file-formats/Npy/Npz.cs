using System.IO.Compression;
using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// NumPy's .npz: a zip archive of .npy members (np.savez stores them, np.savez_compressed
/// deflates them; both read here). Names are given without the ".npy" suffix, as np.load shows them.
/// </summary>
internal static class Npz
{
    public static Dictionary<string, NpyArray> Read(string path)
    {
        InputFile.Check(path, path);
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var arrays = new Dictionary<string, NpyArray>();
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/')) continue;
                var name = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
                using var member = entry.Open();
                arrays[name] = Npy.Read(member, $"{path}:{entry.FullName}");
            }
            return arrays;
        }
        catch (InvalidDataException e)
        {
            throw new SamException($"{path}: not a valid .npz (zip) archive ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SamException($"{path}: cannot read ({e.Message})", e);
        }
    }

    /// <summary>Writes the arrays uncompressed, as np.savez does, atomically.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, NpyArray>> arrays) =>
        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (name, array) in arrays)
            {
                var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
                using var member = entry.Open();
                Npy.Write(member, array);
            }
        });
}
