namespace SamEngine.Model;

/// <summary>
/// The hyper-parameters of SAM's ImageEncoderViT, as read from a checkpoint. Nothing here is
/// fixed to ViT-B/L/H: the reference fixtures use a non-standard width, depth and head count.
/// </summary>
public sealed record ImageEncoderConfig(
    int ImgSize,
    int PatchSize,
    int EmbedDim,
    int Depth,
    int NumHeads,
    int MlpDim,
    int WindowSize,
    IReadOnlyList<int> GlobalAttnIndexes,
    int OutChans,
    float LayerNormEps = 1e-6f)
{
    public const int InChans = 3;

    /// <summary>Tokens per side after patch embedding (64 for 1024 / 16).</summary>
    public int GridSize => ImgSize / PatchSize;

    public int HeadDim => EmbedDim / NumHeads;

    /// <summary>The window of block <paramref name="index"/>: 0 for global attention, as the reference's Block.</summary>
    public int BlockWindow(int index) => GlobalAttnIndexes.Contains(index) ? 0 : WindowSize;

    /// <summary>The official ViT-B shape (for benchmarks with random weights).</summary>
    public static ImageEncoderConfig VitB => new(1024, 16, 768, 12, 12, 3072, 14, [2, 5, 8, 11], 256);

    public override string ToString() =>
        $"ViT width {EmbedDim}, depth {Depth}, {NumHeads} heads, window {WindowSize}, global blocks [{string.Join(",", GlobalAttnIndexes)}], " +
        $"patch {PatchSize}, image {ImgSize}, neck {OutChans}";
}
