namespace SamEngine.Tests.Api;

/// <summary>Hears progress on the reporting thread, in order (Progress&lt;T&gt; posts each report to the thread pool).</summary>
sealed class Recorder(Action<SamProgress> report) : IProgress<SamProgress>
{
    public void Report(SamProgress value) => report(value);
}
