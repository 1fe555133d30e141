using System.Globalization;

namespace SamEngine.Tools.Bench;

/// <summary>The process's resident memory from /proc/self/status (Linux); null elsewhere.</summary>
internal static class ProcessMemory
{
    /// <summary>Resident set size now.</summary>
    public static long? Rss() => Field("VmRSS:");

    /// <summary>Peak resident set size since start or since the last <see cref="ResetPeak"/>.</summary>
    public static long? PeakRss() => Field("VmHWM:");

    /// <summary>Restarts the peak at the current size (Linux ≥ 4.0: "5" into clear_refs); false where unsupported.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    static long? Field(string name)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(name));
            if (line == null) return null;
            var kb = line[name.Length..].Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The 1-minute load average (/proc/loadavg): how busy the machine was during a measurement.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
