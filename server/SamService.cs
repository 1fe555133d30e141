using System.Diagnostics;
using System.Security.Cryptography;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;
using SamEngine.Weights;

namespace SamEngine.Server;

/// <summary>
/// What the HTTP endpoints call: the model on its device, the image store, the encoder queue,
/// the decoder pool, and recent predictions (so one can be fed back as the next mask prompt).
/// </summary>
internal sealed class SamService : IDisposable
{
    readonly SamImageEncoder encoder;
    readonly SamPredictor amgPredictor;
    readonly PredictorPool decoders;
    readonly DeviceQueue queue = new();
    readonly Dictionary<string, (string ImageId, float[] LowRes, float[] Iou)> predictions = new();
    /// <summary>Off the native path, one accelerator serves encoder and decoders: their launches take turns.</summary>
    readonly object? deviceTurn;
    readonly LinkedList<string> predictionOrder = new();
    const int KeptPredictions = 256;

    public ImageStore Store { get; }
    public ServeOptions Options { get; }
    public Device Device { get; }
    public string ModelName { get; }
    public string ModelDigest { get; }
    public bool RandomWeights { get; }
    public int ImageSize => amgPredictor.ImageSize;

    /// <summary>Images encoded since the server started (a cached image never counts again).</summary>
    public int Encodings => encodings;
    int encodings;

    readonly SamModel model;

    public SamService(ServeOptions options)
    {
        Options = options;
        RandomWeights = options.Model == null;
        model = options.Model == null ? SamModel.Random(options.Arch, device: options.Device) : SamModel.Load(options.Model, options.Device);
        (ModelName, ModelDigest, Device) = (model.Name, model.Digest, model.Device);
        var weights = model.Weights;
        // One encoder does the device's heavy work; decoders run side by side on the native path,
        // one at a time where a device's kernels would contend for one accelerator.
        amgPredictor = new SamPredictor(weights, Device);
        encoder = amgPredictor.Encoder;
        deviceTurn = Device.Kind == DeviceKind.Cpu ? null : new object();
        decoders = new PredictorPool(weights, Device, deviceTurn == null ? options.Decoders : 1);
        Store = new ImageStore((long)options.CacheMb << 20, options.CacheDir, ModelDigest);
    }

    /// <summary>Decodes an upload, adds it, and queues its encoding unless its embedding is cached.</summary>
    public ImageEntry Upload(byte[] bytes)
    {
        var id = ImageEntry.IdOf(bytes);
        if (Store.Image(id) is { } known) return known;
        RgbImage rgb;
        try { rgb = ImageLoader.Decode(bytes, "upload"); }
        catch (SamException e) { throw ApiError.BadRequest(e.Message.Replace("image upload: ", "the upload: ")); }
        if ((long)rgb.Width * rgb.Height > Options.MaxPixels)
            throw ApiError.TooLarge($"the image has {rgb.Width}×{rgb.Height} pixels, more than this server takes ({Options.MaxPixels})");
        var (entry, isNew) = Store.Add(new ImageEntry { Id = id, Bytes = bytes, Width = rgb.Width, Height = rgb.Height });
        if (!isNew) return entry;
        if (Store.Embedding(id) != null)
        {
            entry.Status = "ready";
            return entry;
        }
        Enqueue(entry, () => rgb);
        return entry;
    }

    public int? QueuePosition(string id) => queue.Position(id);

    /// <summary>The image's embedding, or why there is none yet.</summary>
    public ImageEmbedding Embedding(string id)
    {
        var entry = Store.Image(id);
        if (Store.Embedding(id) is { } e) return e;
        if (entry == null) throw ApiError.NotFound($"no image {id}: upload it with POST /api/images");
        if (entry.Status == "failed") throw ApiError.Conflict($"image {id} could not be encoded: {entry.Error}");
        if (entry.Status == "ready") Requeue(entry);
        throw ApiError.Conflict($"image {id} is still being encoded (queue position {QueuePosition(id) ?? 0}); ask GET /api/images/{id}");
    }

    // Dropped from the cache since: encode it again from the bytes still held.
    void Requeue(ImageEntry entry)
    {
        entry.Status = "pending";
        Enqueue(entry, () => ImageLoader.Decode(entry.Bytes, "upload"));
    }

    void Enqueue(ImageEntry entry, Func<RgbImage> image) =>
        _ = queue.Enqueue(entry.Id, () =>
        {
            try
            {
                var clock = Stopwatch.StartNew();
                var embedding = OnDevice(() => encoder.Embed(image())) with { Image = entry.Id };
                Interlocked.Increment(ref encodings);
                Store.Put(entry.Id, embedding);
                entry.EncodeMs = clock.Elapsed.TotalMilliseconds;
                entry.Status = "ready";
            }
            catch (SamException e)
            {
                entry.Error = e.Message;
                entry.Status = "failed";
            }
        });

    public sealed record Prompt(float[,]? Points, int[]? Labels, float[]? Box, string? MaskInput, int? MaskIndex, bool Multimask);

    public sealed record Prediction(string Id, SamPrediction Result, double Ms);

    public async Task<Prediction> Predict(string imageId, Prompt p, CancellationToken cancel)
    {
        var embedding = Embedding(imageId);
        var size = embedding.OriginalSize;
        if (p.Points != null)
            for (int i = 0; i < p.Points.GetLength(0); i++) PromptValidation.Point(p.Points[i, 0], p.Points[i, 1], p.Labels![i], size);
        if (p.Box != null) PromptValidation.Box(p.Box, size);
        float[]? maskInput = null;
        if (p.MaskInput != null)
        {
            (string ImageId, float[] LowRes, float[] Iou) previous;
            lock (predictions)
                if (!predictions.TryGetValue(p.MaskInput, out previous)) throw ApiError.NotFound($"no prediction {p.MaskInput} (only the last {KeptPredictions} are kept)");
            if (previous.ImageId != imageId) throw ApiError.BadRequest($"prediction {p.MaskInput} is of another image");
            // The candidate asked for, else the one the model scores highest, as the official demo feeds back.
            int k = p.MaskIndex ?? Array.IndexOf(previous.Iou, previous.Iou.Max());
            if (k < 0 || k >= previous.Iou.Length) throw ApiError.BadRequest($"mask_index {k}: prediction {p.MaskInput} has {previous.Iou.Length} masks");
            int plane = previous.LowRes.Length / previous.Iou.Length;
            maskInput = previous.LowRes.AsSpan(k * plane, plane).ToArray();
        }
        if (p.Points == null && p.Box == null && maskInput == null) throw ApiError.BadRequest("no prompt: give points, a box or mask_input");
        var clock = Stopwatch.StartNew();
        var result = await decoders.Use(imageId, embedding, predictor => OnDevice(() => predictor.Predict(p.Points, p.Labels, p.Box, maskInput, p.Multimask)), cancel);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        lock (predictions)
        {
            predictions[id] = (imageId, result.LowResLogits, result.IouPredictions);
            predictionOrder.AddLast(id);
            while (predictionOrder.Count > KeptPredictions)
            {
                predictions.Remove(predictionOrder.First!.Value);
                predictionOrder.RemoveFirst();
            }
        }
        return new Prediction(id, result, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>AMG on the image, in the encoder queue (it encodes every crop).</summary>
    public async Task<AmgResult> Amg(string imageId, AmgOptions options)
    {
        var entry = Store.Image(imageId) ?? throw ApiError.NotFound($"no image {imageId}: upload it with POST /api/images");
        try { options.LayerPointGrids(); }
        catch (SamException e) { throw ApiError.BadRequest(e.Message); }
        AmgResult? result = null;
        await queue.Enqueue(null, () => result = OnDevice(() => new SamAutomaticMaskGenerator(amgPredictor, options).Generate(ImageLoader.Decode(entry.Bytes, "upload"))));
        return result!;
    }

    T OnDevice<T>(Func<T> work)
    {
        if (deviceTurn == null) return work();
        lock (deviceTurn) return work();
    }

    public void Dispose()
    {
        queue.Dispose();
        decoders.Dispose();
        amgPredictor.Dispose();
        model.Dispose();
    }
}
