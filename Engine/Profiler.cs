using System.Diagnostics;
using ILGPU.Runtime;

namespace SamEngine.Engine;

/// <summary>One timed kernel launch.</summary>
internal sealed record LaunchRecord(string Kernel, string Stage, string Device, double StartMs, double DurationMs, double Flops, double Bytes);

/// <summary>
/// Times launches and attributes them to a kernel name and a model stage. On ILGPU devices the
/// time comes from device events (profiling markers) read after the fact, so timing does not
/// serialise the stream; on the native cpu device ops are synchronous and a stopwatch suffices.
/// Off by default: a disabled launch scope costs one branch.
/// </summary>
internal static class Profiler
{
    // A profiling session belongs to the async flow that started it, so that launches made
    // concurrently elsewhere (other tests, other requests) are not attributed to it.
    static readonly AsyncLocal<Session?> current = new();
    [ThreadStatic] static Stack<string>? stages;

    public static bool Enabled => current.Value is { Active: true };

    public static void Start()
    {
        current.Value?.Dispose();
        current.Value = new Session();
    }

    /// <summary>Stops recording; <see cref="Records"/> still returns what was recorded.</summary>
    public static void Stop()
    {
        var s = current.Value;
        if (s == null) return;
        s.Resolve();
        s.Active = false;
    }

    public static void Reset()
    {
        current.Value?.Dispose();
        current.Value = null;
    }

    /// <summary>Names the model stage that launches inside the returned scope belong to (nests with '/').</summary>
    public static StageScope Stage(string name)
    {
        if (!Enabled) return default;
        stages ??= new Stack<string>();
        stages.Push(stages.Count == 0 ? name : stages.Peek() + "/" + name);
        return new StageScope(true);
    }

    public static string CurrentStage => stages is { Count: > 0 } s ? s.Peek() : "";

    /// <summary>Times one launch; flops and bytes are the kernel's own counts for the report's rates.</summary>
    public static LaunchScope Launch(Device device, string kernel, double flops, double bytes)
    {
        var session = current.Value;
        if (session is not { Active: true }) return default;
        return new LaunchScope(session, session.Begin(device, kernel, flops, bytes));
    }

    /// <summary>All launches of this flow's session (waits for the devices to finish those still queued).</summary>
    public static IReadOnlyList<LaunchRecord> Records
    {
        get
        {
            var s = current.Value;
            if (s == null) return [];
            s.Resolve();
            return s.Snapshot();
        }
    }

    sealed class Session : IDisposable
    {
        readonly object gate = new();
        readonly List<Pending> pending = new();
        readonly List<LaunchRecord> records = new();
        readonly Stopwatch clock = Stopwatch.StartNew();
        readonly Dictionary<Accelerator, (ProfilingMarker Marker, double HostMs)> origins = new();
        public bool Active = true;

        public Pending Begin(Device device, string kernel, double flops, double bytes)
        {
            var acc = device.Accelerator;
            ProfilingMarker? start = null;
            if (acc != null)
            {
                lock (gate)
                {
                    if (!origins.ContainsKey(acc))
                    {
                        acc.Synchronize();
                        origins[acc] = (acc.AddProfilingMarker(), clock.Elapsed.TotalMilliseconds);
                    }
                }
                start = acc.AddProfilingMarker();
            }
            return new Pending
            {
                Kernel = kernel,
                Stage = CurrentStage,
                Device = device.Kind.Name(),
                Accelerator = acc,
                Start = start,
                HostStartMs = clock.Elapsed.TotalMilliseconds,
                Flops = flops,
                Bytes = bytes,
            };
        }

        public void End(Pending p)
        {
            if (p.Accelerator != null) p.End = p.Accelerator.AddProfilingMarker();
            else p.HostEndMs = clock.Elapsed.TotalMilliseconds;
            lock (gate) pending.Add(p);
        }

        public IReadOnlyList<LaunchRecord> Snapshot()
        {
            lock (gate) return records.ToArray();
        }

        public void Resolve()
        {
            lock (gate)
            {
                foreach (var p in pending)
                {
                    if (p.Accelerator == null)
                    {
                        records.Add(new(p.Kernel, p.Stage, p.Device, p.HostStartMs, p.HostEndMs - p.HostStartMs, p.Flops, p.Bytes));
                        continue;
                    }
                    p.End!.Synchronize();
                    var (origin, originHost) = origins[p.Accelerator];
                    double start = originHost + p.Start!.MeasureFrom(origin).TotalMilliseconds;
                    double duration = p.End.MeasureFrom(p.Start).TotalMilliseconds;
                    records.Add(new(p.Kernel, p.Stage, p.Device, start, duration, p.Flops, p.Bytes));
                    p.Start.Dispose();
                    p.End.Dispose();
                }
                pending.Clear();
            }
        }

        public void Dispose()
        {
            lock (gate)
            {
                Active = false;
                foreach (var p in pending) { p.Start?.Dispose(); p.End?.Dispose(); }
                pending.Clear();
                foreach (var o in origins.Values) o.Marker.Dispose();
                origins.Clear();
            }
        }
    }

    internal sealed class Pending
    {
        public string Kernel = "", Stage = "", Device = "";
        public Accelerator? Accelerator;
        public ProfilingMarker? Start, End;
        public double HostStartMs, HostEndMs, Flops, Bytes;
    }

    public readonly struct LaunchScope : IDisposable
    {
        readonly Session? session;
        readonly Pending? pending;
        internal LaunchScope(object session, Pending p)
        {
            this.session = (Session)session;
            pending = p;
        }

        public void Dispose()
        {
            if (pending != null) session!.End(pending);
        }
    }

    public readonly struct StageScope : IDisposable
    {
        readonly bool active;
        internal StageScope(bool active) => this.active = active;
        public void Dispose()
        {
            if (active && stages is { Count: > 0 }) stages.Pop();
        }
    }
}
