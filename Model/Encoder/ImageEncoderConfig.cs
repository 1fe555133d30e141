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

    /// <summary>The encoder of an official size (for random-weight demos and benchmarks).</summary>
    public static ImageEncoderConfig Of(SamArchitecture arch) => new(
        SamArchitecture.ImageSize, SamArchitecture.PatchSize, arch.EmbedDim, arch.Depth, arch.NumHeads,
        SamArchitecture.MlpRatio * arch.EmbedDim, SamArchitecture.WindowSize, arch.GlobalAttnIndexes, SamArchitecture.OutChans);

    public override string ToString() =>
        $"ViT width {EmbedDim}, depth {Depth}, {NumHeads} heads, window {WindowSize}, global blocks [{string.Join(",", GlobalAttnIndexes)}], " +
        $"patch {PatchSize}, image {ImgSize}, neck {OutChans}";
}
