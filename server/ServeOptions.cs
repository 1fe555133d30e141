namespace SamEngine.Server;

/// <summary>`sam serve`'s settings; the defaults are what a laptop user wants.</summary>
internal sealed record ServeOptions
{
    /// <summary>A checkpoint; null serves seeded random weights of <see cref="Arch"/> (meaningless masks, real timings).</summary>
    public string? Model { get; init; }
    /// <summary>The official architecture of the random weights when there is no <see cref="Model"/> (vit_b, vit_l, vit_h, mini).</summary>
    public string Arch { get; init; } = "vit_b";
    public string? Device { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>0 picks a free port (tests, benchmarks).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>Embeddings kept in memory, least recently used dropped first (ViT-B's are 4 MB each).</summary>
    public int CacheMb { get; init; } = 512;
    /// <summary>Where embeddings are also kept on disk, so that a restart keeps them; null: memory only.</summary>
    public string? CacheDir { get; init; }
    /// <summary>Required of every API request (Authorization: Bearer, or ?token=) when given; mandatory off loopback.</summary>
    public string? Token { get; init; }
    public int MaxUploadMb { get; init; } = 64;
    public long MaxPixels { get; init; } = 64L << 20;
    /// <summary>Decoders running at once (each holds its own copy of the prompt encoder and mask decoder).</summary>
    public int Decoders { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);
}
