using SamEngine.Engine;
using SamEngine.Kernels;
using SamEngine.Weights;

namespace SamEngine.Model;

/// <summary>
/// prompt_encoder.py's PromptEncoder. Points and boxes become sparse tokens (a positional
/// encoding plus a learned embedding per kind); a low-resolution mask becomes a dense embedding
/// through <see cref="MaskDownscaling"/>; without a mask the dense embedding is no_mask_embed at
/// every cell. Sparse tokens are a few per prompt and are built on the host.
/// </summary>
internal sealed class PromptEncoder : IDisposable
{
    // Labels as the reference uses them; −1 marks the padding point.
    const int NotAPoint = -1;

    readonly float[][] pointEmbeddings;   // background, foreground, box top-left, box bottom-right
    readonly float[] notAPointEmbed;

    public PromptEncoder(StateDict weights, Device device, (int H, int W) imageEmbeddingSize, (int H, int W) inputImageSize)
    {
        var w = new PromptDecoderWeights(weights, device, "prompt_encoder.");
        PeLayer = new PositionEmbeddingRandom(w.Host("pe_layer.positional_encoding_gaussian_matrix"));
        EmbedDim = PeLayer.Channels;
        ImageEmbeddingSize = imageEmbeddingSize;
        InputImageSize = inputImageSize;
        int pointKinds = w.Count("point_embeddings");
        if (pointKinds != 4) throw new SamException($"checkpoint has {pointKinds} prompt point embeddings, SAM has 4");
        pointEmbeddings = Enumerable.Range(0, 4).Select(i => w.Host($"point_embeddings.{i}.weight", 1, EmbedDim)).ToArray();
        notAPointEmbed = w.Host("not_a_point_embed.weight", 1, EmbedDim);
        noMaskOwner = w.Upload("no_mask_embed.weight", 1, EmbedDim);
        NoMaskEmbed = noMaskOwner.Reshape(EmbedDim);
        MaskDownscaling = new MaskDownscaling(w.Scope("mask_downscaling"), EmbedDim);
        DensePe = Tensor.FromArray(device, PeLayer.Grid(imageEmbeddingSize.H, imageEmbeddingSize.W),
            imageEmbeddingSize.H * imageEmbeddingSize.W, EmbedDim);
    }

    readonly Tensor noMaskOwner;

    public int EmbedDim { get; }
    public (int H, int W) ImageEmbeddingSize { get; }
    /// <summary>The padded image size the encoder sees (1024×1024): coordinates are normalised by it.</summary>
    public (int H, int W) InputImageSize { get; }
    /// <summary>The mask prompt size: 4× the embedding grid (256×256).</summary>
    public (int H, int W) MaskInputSize => (4 * ImageEmbeddingSize.H, 4 * ImageEmbeddingSize.W);
    public PositionEmbeddingRandom PeLayer { get; }
    public MaskDownscaling MaskDownscaling { get; }
    /// <summary>no_mask_embed, [C].</summary>
    public Tensor NoMaskEmbed { get; }

    /// <summary>get_dense_pe: the encoding of the embedding grid, token-major [h·w, C], computed once.</summary>
    public Tensor DensePe { get; }

    /// <summary>How many sparse tokens each prompt of the batch gives.</summary>
    public static int SparseTokens(PromptBatch prompts) =>
        (prompts.Points != null ? prompts.PointsPerPrompt + (prompts.Boxes == null ? 1 : 0) : 0) + (prompts.Boxes != null ? 2 : 0);

    /// <summary>
    /// The sparse embeddings, B×N×C on the host: the points (with the padding point when there is
    /// no box, exactly when the reference pads), then the two box corners.
    /// </summary>
    public float[] EmbedSparse(PromptBatch prompts)
    {
        int n = SparseTokens(prompts), c = EmbedDim;
        var sparse = new float[(long)prompts.Count * n * c];
        for (int b = 0; b < prompts.Count; b++)
        {
            var tokens = sparse.AsSpan(b * n * c, n * c);
            int t = 0;
            if (prompts.Points != null)
            {
                for (int i = 0; i < prompts.PointsPerPrompt; i++, t++)
                {
                    int p = b * prompts.PointsPerPrompt + i;
                    EmbedPoint(prompts.Points[2 * p], prompts.Points[2 * p + 1], prompts.Labels![p], tokens.Slice(t * c, c));
                }
                if (prompts.Boxes == null) EmbedPoint(0, 0, NotAPoint, tokens.Slice(t++ * c, c));
            }
            if (prompts.Boxes != null)
            {
                var box = prompts.Boxes.AsSpan(4 * b, 4);
                EmbedCorner(box[0], box[1], pointEmbeddings[2], tokens.Slice(t++ * c, c));
                EmbedCorner(box[2], box[3], pointEmbeddings[3], tokens.Slice(t++ * c, c));
            }
        }
        return sparse;
    }

    void EmbedPoint(double x, double y, int label, Span<float> token)
    {
        if (label == NotAPoint)
        {
            notAPointEmbed.CopyTo(token);
            return;
        }
        // +0.5: the reference encodes the centre of the clicked pixel.
        PeLayer.EncodePixel(x + 0.5, y + 0.5, InputImageSize, token);
        var learned = label switch
        {
            0 => pointEmbeddings[0],
            1 => pointEmbeddings[1],
            _ => throw new ArgumentException($"point label {label} is not 1 (foreground), 0 (background) or -1 (padding)"),
        };
        for (int j = 0; j < token.Length; j++) token[j] += learned[j];
    }

    void EmbedCorner(double x, double y, float[] learned, Span<float> token)
    {
        PeLayer.EncodePixel(x + 0.5, y + 0.5, InputImageSize, token);
        for (int j = 0; j < token.Length; j++) token[j] += learned[j];
    }

    /// <summary>The dense embedding of B low-resolution masks [B, 1, 4h, 4w] → [B, C, h, w].</summary>
    public Tensor EmbedMasks(Tensor masks) => MaskDownscaling.Forward(masks);

    public void Dispose()
    {
        noMaskOwner.Dispose();
        DensePe.Dispose();
        MaskDownscaling.Dispose();
    }
}
