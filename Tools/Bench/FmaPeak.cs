using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Tools.Bench;

/// <summary>
/// The machine's fp32 FMA peak, measured: every core runs twelve independent FMA chains on the
/// widest accelerated vector (the micro-kernel's shape) in short bursts, and the fastest burst
/// of each core counts. Short bursts because the machine may be shared: a 1 ms burst that no
/// other process interrupted shows what the core can do, where a long average shows the load.
/// </summary>
internal static class FmaPeak
{
    const int Chains = 12, Iterations = 4096;

    /// <summary>Measured GFLOP/s of all cores together (about 0.2 s).</summary>
    public static double MeasureGflops(double seconds = 0.2)
    {
        int cores = Environment.ProcessorCount;
        var best = new double[cores];
        Parallel.For(0, cores, new ParallelOptions { MaxDegreeOfParallelism = cores }, core =>
        {
            var total = Stopwatch.StartNew();
            float sink = 0;
            while (total.Elapsed.TotalSeconds < seconds)
            {
                long start = Stopwatch.GetTimestamp();
                sink += Burst(1.0000001f);
                double burst = Stopwatch.GetElapsedTime(start).TotalSeconds;
                best[core] = Math.Max(best[core], FlopPerBurst / burst / 1e9);
            }
            if (sink == 42) Console.Write("");   // keeps the bursts alive
        });
        return best.Sum();
    }

    static double FlopPerBurst => 2.0 * Chains * Iterations * (Vector512.IsHardwareAccelerated ? 16 : Vector256<float>.Count);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Burst(float m) => Vector512.IsHardwareAccelerated ? Burst512(m) : Burst256(m);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Burst512(float m)
    {
        var a = Vector512.Create(m);
        var b = Vector512.Create(1e-7f);
        Vector512<float> c0 = b, c1 = b, c2 = b, c3 = b, c4 = b, c5 = b, c6 = b, c7 = b, c8 = b, c9 = b, c10 = b, c11 = b;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b); c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b); c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b); c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b); c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b); c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b); c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Burst256(float m)
    {
        var a = Vector256.Create(m);
        var b = Vector256.Create(1e-7f);
        Vector256<float> c0 = b, c1 = b, c2 = b, c3 = b, c4 = b, c5 = b, c6 = b, c7 = b, c8 = b, c9 = b, c10 = b, c11 = b;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, a, b); c1 = Vector256.FusedMultiplyAdd(c1, a, b);
            c2 = Vector256.FusedMultiplyAdd(c2, a, b); c3 = Vector256.FusedMultiplyAdd(c3, a, b);
            c4 = Vector256.FusedMultiplyAdd(c4, a, b); c5 = Vector256.FusedMultiplyAdd(c5, a, b);
            c6 = Vector256.FusedMultiplyAdd(c6, a, b); c7 = Vector256.FusedMultiplyAdd(c7, a, b);
            c8 = Vector256.FusedMultiplyAdd(c8, a, b); c9 = Vector256.FusedMultiplyAdd(c9, a, b);
            c10 = Vector256.FusedMultiplyAdd(c10, a, b); c11 = Vector256.FusedMultiplyAdd(c11, a, b);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    /// <summary>
    /// The nominal figure for comparison: the clock /proc/cpuinfo reports × 32 flop per cycle
    /// (two 8-lane FMA pipes, or AVX-512 double-pumped on them as on Zen 4) × cores; null off Linux.
    /// </summary>
    public static double? NominalGflops()
    {
        try
        {
            var mhz = File.ReadLines("/proc/cpuinfo").Where(l => l.StartsWith("cpu MHz"))
                .Select(l => double.Parse(l[(l.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture)).ToList();
            return mhz.Count == 0 ? null : mhz.Average() * 1e6 * 32 * Environment.ProcessorCount / 1e9;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
