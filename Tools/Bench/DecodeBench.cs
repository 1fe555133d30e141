using System.Diagnostics;
using SamEngine.FileFormats;

namespace SamEngine.Tools.Bench;

/// <summary>
/// The bench's decode stage: reading and decoding an image file to RGB as every command does
/// (<see cref="ImageLoader.Load"/>), timed beside Pillow on the same file in the same run, with
/// the memory one decode allocates and the resident peak it reaches.
/// </summary>
internal static class DecodeBench
{
    const int MinRuns = 10;

    public static StageResult Run(string? imagePath, int repeat)
    {
        imagePath ??= DefaultPhoto();
        if (repeat == 0) return SamBench.NotRun("decode");
        if (imagePath == null) return SamBench.NotRun("decode", "decode (no --image, and no image fixtures' large_photo.jpg)");

        var image = ImageLoader.Load(imagePath); // warm-up: JIT and thread pool
        GC.Collect();
        ProcessMemory.ResetPeak();
        long? rssBase = ProcessMemory.Rss();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        ImageLoader.Load(imagePath);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long? rssPeak = ProcessMemory.PeakRss() - rssBase;

        int runs = Math.Max(repeat, MinRuns);
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            ImageLoader.Load(imagePath);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        process.Refresh();
        double cpuMs = (process.TotalProcessorTime - cpuStart).TotalMilliseconds;

        var details = new Dictionary<string, double>
        {
            ["width"] = image.Width,
            ["height"] = image.Height,
            ["allocated_mb"] = allocated / 1048576.0,
        };
        if (rssPeak is long rss) details["rss_peak_mb"] = rss / 1048576.0;
        var (pillow, why) = PillowBaseline.Time(imagePath, runs);
        var label = $"decode {Path.GetFileName(imagePath)} ({image.Width}×{image.Height}) to RGB";
        if (pillow != null)
        {
            details["pillow_ms"] = StageResult.Median(pillow);
            details["ratio_to_pillow"] = StageResult.Median(times) / details["pillow_ms"];
        }
        else label += $"; {why}";
        return new StageResult("decode", label, times, cpuMs, []) { Details = details };
    }

    /// <summary>The image fixtures' photo-sized JPEG, found as the tests find fixtures ($SAM_FIXTURES, else ../shared/fixtures beside the checkout).</summary>
    static string? DefaultPhoto()
    {
        var root = Environment.GetEnvironmentVariable("SAM_FIXTURES");
        if (string.IsNullOrEmpty(root))
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null && root == null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "SamEngine.sln"))) root = Path.Combine(dir.FullName, "..", "shared", "fixtures");
        var path = root == null ? null : Path.GetFullPath(Path.Combine(root, "images", "large_photo.jpg"));
        return File.Exists(path) ? path : null;
    }
}
