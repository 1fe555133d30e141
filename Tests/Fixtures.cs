namespace SamEngine.Tests;

/// <summary>
/// Locates ../shared/fixtures (or $SAM_FIXTURES). Tests that need it call <see cref="Require"/>,
/// which skips them with the reason when the fixtures are absent.
/// </summary>
public static class Fixtures
{
    public static string? Root { get; } = Find();

    static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("SAM_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        // The repository root holds SamEngine.sln; the fixtures sit beside the checkout.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SamEngine.sln")))
            {
                var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures"));
                return Directory.Exists(path) ? path : null;
            }
        }
        return null;
    }

    /// <summary>The path of a fixture file or folder, e.g. "sam-mini/sam_mini.pth"; skips the test if missing.</summary>
    public static string Require(string relative)
    {
        Skip.If(Root == null, "reference fixtures not found: set SAM_FIXTURES or place them at ../shared/fixtures");
        var path = Path.Combine(Root!, relative);
        Skip.IfNot(File.Exists(path) || Directory.Exists(path), $"fixture {relative} not found under {Root}");
        return path;
    }
}
