using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using SamEngine.Engine;

namespace SamEngine.FileFormats;

/// <summary>
/// How a command knows an existing output is its own. Every output unit it writes — a folder,
/// or a few files side by side — gets a stamp naming the command and the SHA-256 of every file
/// as written: inside a folder, <c>.sam-output.json</c>; beside files, <c>.NAME.sam-output.json</c>
/// for the unit's first file. A later run replaces a unit only if its stamp is there and every
/// file still matches it, with nothing added; anything else was not written by sam, or was
/// changed since, and is refused, never deleted or overwritten.
/// </summary>
internal static class OutputStamp
{
    const string Format = "samengine-output";
    public const string FolderStampName = ".sam-output.json";

    public static string StampPathForFiles(string firstFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(firstFile))!, $".{Path.GetFileName(firstFile)}.sam-output.json");

    /// <summary>Records the folder's files (top level, no subfolders) as written by <paramref name="writer"/>.</summary>
    public static void StampFolder(string folder, string writer)
    {
        var files = Directory.EnumerateFiles(folder).Where(f => Path.GetFileName(f) != FolderStampName).Order(StringComparer.Ordinal).ToList();
        WriteStamp(Path.Combine(folder, FolderStampName), writer, files);
    }

    /// <summary>Records files side by side as one unit written by <paramref name="writer"/>.</summary>
    public static void StampFiles(string writer, params string[] files) => WriteStamp(StampPathForFiles(files[0]), writer, files);

    /// <summary>Null if the folder does not exist or is a stamped output whose files are as written; otherwise why it may not be replaced.</summary>
    public static string? FolderProblem(string folder)
    {
        if (File.Exists(folder)) return "is a file, not an output folder";
        if (!Directory.Exists(folder)) return null;
        var stamp = Path.Combine(folder, FolderStampName);
        if (Directory.EnumerateDirectories(folder).FirstOrDefault() is { } sub) return $"holds the folder {Path.GetFileName(sub)}, which sam did not write";
        var present = Directory.EnumerateFiles(folder).Select(Path.GetFileName).Where(n => n != FolderStampName).ToHashSet(StringComparer.Ordinal);
        if (!File.Exists(stamp))
            return present.Count == 0 && !Directory.EnumerateFileSystemEntries(folder).Any() ? null : "exists and was not written by sam (no .sam-output.json)";
        return Verify(stamp, folder, present);
    }

    /// <summary>Null if none of the files exists, or all are a stamped unit as written; otherwise the file in the way and why.</summary>
    public static (string File, string Problem)? FilesProblem(params string[] files)
    {
        foreach (var f in files)
            if (Directory.Exists(f)) return (f, "is a folder");
        var stamp = StampPathForFiles(files[0]);
        var existing = files.Where(File.Exists).ToList();
        if (!File.Exists(stamp))
            return existing.Count > 0 ? (existing[0], "exists and was not written by sam") : null;
        if (existing.Count == 0) return null; // a stamp whose files are gone: nothing of the user's to protect
        var folder = Path.GetDirectoryName(Path.GetFullPath(files[0]))!;
        return Verify(stamp, folder, existing.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal)) is { } problem ? (files[0], problem) : null;
    }

    /// <summary>Whether the files are a complete unit as sam wrote it (all present, stamped, unchanged).</summary>
    public static bool IsComplete(params string[] files) => files.All(File.Exists) && File.Exists(StampPathForFiles(files[0])) && FilesProblem(files) == null;

    public static bool IsCompleteFolder(string folder) => File.Exists(Path.Combine(folder, FolderStampName)) && FolderProblem(folder) == null;

    /// <summary>Throws "FILE: why; not overwritten" unless the files may be written.</summary>
    public static void CheckMayWrite(params string[] files)
    {
        if (FilesProblem(files) is var (file, problem)) throw new SamException($"{file}: {problem}; not overwritten (remove it or choose another path)");
    }

    public static void CheckMayReplace(string label, string folder)
    {
        if (FolderProblem(folder) is { } problem) throw new SamException($"{label}: {problem}; not replaced (remove it or choose another folder)");
    }

    static string? Verify(string stampPath, string folder, ISet<string?> present)
    {
        JsonNode? stamp;
        try { stamp = JsonNode.Parse(InputFile.ReadAllText(stampPath, stampPath, 1 << 20)); }
        catch (Exception e) when (e is JsonException or SamException) { return $"{Path.GetFileName(stampPath)} is not a sam output stamp"; }
        if ((string?)stamp?["format"] != Format || stamp["files"] is not JsonObject listed)
            return $"{Path.GetFileName(stampPath)} is not a sam output stamp";
        foreach (var name in present)
        {
            if (listed[name!] is not JsonValue hash) return $"holds {name}, which sam did not write there";
            if (Sha256(Path.Combine(folder, name!)) != (string?)hash) return $"{name} was changed since sam wrote it";
        }
        return null;
    }

    static void WriteStamp(string stampPath, string writer, IEnumerable<string> files)
    {
        var listed = new JsonObject();
        foreach (var f in files) listed[Path.GetFileName(f)] = Sha256(f);
        var stamp = new JsonObject { ["format"] = Format, ["writer"] = writer, ["files"] = listed };
        AtomicFile.Write(stampPath, s => JsonSerializer.Serialize(s, stamp, new JsonSerializerOptions { WriteIndented = true }));
    }

    static string Sha256(string path)
    {
        if (InputFile.Problem(path, out _) is { } problem) return problem;
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unreadable: " + e.Message; }
    }
}
