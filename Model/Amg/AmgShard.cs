using System.Globalization;
using SamEngine.Engine;

namespace SamEngine.Model;

/// <summary>
/// One of N shards of a sorted work list (--shard i/N, i from 0, as a Slurm array task id or a
/// Kubernetes indexed Job's completion index): items i, i + N, i + 2N, ... Every item falls in
/// exactly one shard, shard sizes differ by at most one, and the split depends only on the list,
/// so N processes on N machines divide a corpus without talking to each other.
/// </summary>
internal readonly record struct AmgShard(int Index, int Count)
{
    public static AmgShard All => new(0, 1);

    public const int MaxShards = 1_000_000;

    public static AmgShard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            throw new SamException($"--shard '{text}': expected i/N, e.g. 0/4 for the first of four shards");
        if (count is < 1 or > MaxShards) throw new SamException($"--shard '{text}': the number of shards must be in [1, {MaxShards}]");
        if (index >= count) throw new SamException($"--shard '{text}': shard index {index} must be below the number of shards {count} (indices start at 0)");
        return new AmgShard(index, count);
    }

    public IEnumerable<T> Select<T>(IReadOnlyList<T> sorted)
    {
        for (int i = Index; i < sorted.Count; i += Count) yield return sorted[i];
    }

    public override string ToString() => $"{Index}/{Count}";
}
