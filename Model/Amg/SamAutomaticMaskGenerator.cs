using System.Collections.Concurrent;
using System.Diagnostics;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine;

/// <summary>
/// SamAutomaticMaskGenerator: masks for everything in an image. A grid of single-point prompts
/// runs over the image and over layers of overlapping crops; each prompt's three candidate
/// masks are filtered by predicted IoU and by stability (the IoU of the mask thresholded a bit
/// above and a bit below the cut-off), masks cut by a crop's inner edges are dropped, duplicates
/// are removed by box NMS within each crop and then across crops (masks from smaller crops
/// preferred), and optionally small holes and islands are cleaned up. Steps, thresholds,
/// number types and orders follow the reference, so the records come out as its do.
/// Each candidate that passes the IoU filter is upscaled, scored and run-length encoded on its
/// own, streamed row by row (no full-resolution float plane), the candidates of a batch in
/// parallel; the memory is one crop-sized binary mask per thread.
/// </summary>
public sealed class SamAutomaticMaskGenerator : IDisposable
{
    readonly SamPredictor predictor;
    readonly bool ownsPredictor;
    readonly (double X, double Y)[][] pointGrids;

    /// <summary>A generator for a model, on the model's device.</summary>
    /// <param name="model">The model.</param>
    /// <param name="options">amg.py's parameters; null for the reference's defaults.</param>
    /// <exception cref="SamException">An option is out of its range, or the prompts would be days of work.</exception>
    public SamAutomaticMaskGenerator(SamModel model, AmgOptions? options = null) : this(new SamPredictor(model), options)
    {
        ownsPredictor = true;
    }

    /// <summary>
    /// A generator that runs on an existing predictor, sharing the weights it has on the device:
    /// cheaper than one per request in a server. Generating replaces the predictor's image.
    /// </summary>
    /// <param name="predictor">The predictor; not disposed with the generator.</param>
    /// <param name="options">amg.py's parameters; null for the reference's defaults.</param>
    /// <exception cref="SamException">An option is out of its range, or the prompts would be days of work.</exception>
    public SamAutomaticMaskGenerator(SamPredictor predictor, AmgOptions? options = null)
    {
        Options = options ?? new AmgOptions();
        pointGrids = Options.LayerPointGrids();
        this.predictor = predictor;
    }

    /// <summary>The parameters.</summary>
    public AmgOptions Options { get; }

    /// <summary>Frees the generator's own predictor.</summary>
    public void Dispose()
    {
        if (ownsPredictor) predictor.Dispose();
    }

    /// <summary>A mask candidate on its way through the filters; the box is in the frame of the candidate's crop until uncropped.</summary>
    sealed class Candidate(Rle rle, BoxXyxy box, float iou, (double X, double Y) point, float stability)
    {
        public Rle Rle = rle;
        public BoxXyxy Box = box;
        public readonly float Iou = iou;
        public (double X, double Y) Point = point;
        public readonly float Stability = stability;
        public BoxXyxy CropBox;
    }

    sealed class Tally
    {
        public readonly Stopwatch Encoder = new(), Decoder = new(), Postprocess = new();
        public int Prompts, MasksScored;
        public bool BoxesAreFloat, CropBoxesAreFloat;
    }

    /// <summary>Every mask in the image (generate), as the reference's records.</summary>
    public AmgResult Generate(RgbImage image) => Generate(image, null, default);

    /// <summary>Reads an image file (as cv2.imread does) and generates its masks.</summary>
    /// <exception cref="SamException">The file is missing or not a readable image.</exception>
    public AmgResult Generate(string path) => Generate(RgbImage.Load(path));

    /// <summary>Generates on a worker thread, reporting decoded prompts.</summary>
    /// <param name="image">The image.</param>
    /// <param name="progress">Hears ("amg", point prompts decoded, prompts in all) after each batch.</param>
    /// <param name="cancellationToken">Stops between batches of prompts.</param>
    public Task<AmgResult> GenerateAsync(RgbImage image, IProgress<SamProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(image, progress, cancellationToken), cancellationToken);

    AmgResult Generate(RgbImage image, IProgress<SamProgress>? progress, CancellationToken cancel)
    {
        int h = image.Height, w = image.Width;
        var tally = new Tally();
        var crops = CropBoxes.Generate(h, w, Options.CropNLayers, Options.CropOverlapRatio);
        int totalPrompts = crops.Sum(c => pointGrids[c.Layer].Length);
        var candidates = new List<Candidate>();
        foreach (var (crop, layer) in crops)
            candidates.AddRange(ProcessCrop(image, crop, layer, tally, () =>
            {
                if (cancel.IsCancellationRequested)
                {
                    predictor.ResetImage();
                    cancel.ThrowIfCancellationRequested();
                }
                progress?.Report(new SamProgress("amg", tally.Prompts, totalPrompts));
            }));

        tally.Postprocess.Start();
        if (crops.Count > 1)
        {
            // Prefer masks from smaller crops: the score is 1/area, in float32 as torch divides.
            var scores = candidates.Select(c => (double)(1f / c.CropBox.Area)).ToArray();
            candidates = Select(candidates, BoxNms.Batched(candidates.Select(c => c.Box).ToArray(), scores, Options.CropNmsThresh));
        }
        if (Options.MinMaskRegionArea > 0)
            candidates = RemoveSmallRegions(candidates, h, w, Options.MinMaskRegionArea, Math.Max(Options.BoxNmsThresh, Options.CropNmsThresh));
        var records = candidates.Select(c => new MaskRecord
        {
            Rle = c.Rle,
            BinaryMask = Options.OutputMode == AmgOutputMode.BinaryMask ? c.Rle.Decode() : null,
            CocoCounts = Options.OutputMode == AmgOutputMode.CocoRle ? CocoRle.Encode(c.Rle.Counts) : null,
            Box = c.Box,
            PredictedIou = c.Iou,
            PointCoords = c.Point,
            StabilityScore = c.Stability,
            CropBox = c.CropBox,
        }).ToArray();
        tally.Postprocess.Stop();

        return new AmgResult
        {
            Height = h,
            Width = w,
            Masks = records,
            OutputMode = Options.OutputMode,
            BoxesAreFloat = tally.BoxesAreFloat,
            CropBoxesAreFloat = tally.CropBoxesAreFloat,
            Timings = new AmgTimings(tally.Encoder.Elapsed, tally.Decoder.Elapsed, tally.Postprocess.Elapsed, crops.Count, tally.Prompts, tally.MasksScored),
        };
    }

    List<Candidate> ProcessCrop(RgbImage image, BoxXyxy crop, int layer, Tally tally, Action afterBatch)
    {
        int ch = crop.Height, cw = crop.Width;
        tally.Encoder.Start();
        predictor.SetImage(Crop(image, crop));
        tally.Encoder.Stop();

        var device = predictor.Device;
        var prompts = pointGrids[layer];
        // points_for_image: the grid scaled by the crop's (w, h), in float64.
        var points = Array.ConvertAll(prompts, p => (X: p.X * cw, Y: p.Y * ch));
        var workers = new ConcurrentBag<StreamedPostprocessing>();
        var candidates = new List<Candidate>();
        float iouThresh = (float)Options.PredIouThresh;

        for (int start = 0; start < points.Length; start += Options.PointsPerBatch)
        {
            int b = Math.Min(Options.PointsPerBatch, points.Length - start);
            tally.Decoder.Start();
            var raw = new double[2 * b];
            for (int i = 0; i < b; i++) (raw[2 * i], raw[2 * i + 1]) = points[start + i];
            var batch = new PromptBatch(b, 1, predictor.Transform.ApplyCoords(raw, (ch, cw)), Enumerable.Repeat(1, b).ToArray(), null, null);
            // The predictor keeps the crop's token-major embedding and the dense positional encoding: the image side is prepared once per crop.
            // Masks at or below pred_iou_thresh are dropped unseen below, so their prompts skip the upscaling.
            var (lowRes, iou) = predictor.Decode(batch, multimaskOutput: true, Options.PredIouThresh > 0 ? iouThresh : null);
            tally.Decoder.Stop();
            tally.Prompts += b;

            tally.Postprocess.Start();
            int c = lowRes.Dim(1), lh = lowRes.Dim(2), lw = lowRes.Dim(3);
            // Candidates in the reference's order: prompt-major, then the prompt's masks.
            var scored = Enumerable.Range(0, b * c).Where(i => !(Options.PredIouThresh > 0 && !(iou[i] > iouThresh))).ToArray();
            var outcomes = new Outcome[scored.Length];
            using (lowRes)
            using (Profiler.Launch(device, "amg_postprocess", PostprocessFlops(scored.Length, lh, ch, cw), 4.0 * scored.Length * lh * lw + (double)scored.Length * ch * cw))
            {
                (float[] Array, int Offset) logits = device.Kind == DeviceKind.Cpu ? lowRes.HostArray : (lowRes.Download(), 0);
                CpuCores.For(0, scored.Length,
                    () => workers.TryTake(out var w) ? w : new StreamedPostprocessing(predictor.ImageSize, predictor.InputSize, (ch, cw), (lh, lw)),
                    (j, _, post) =>
                    {
                        outcomes[j] = Postprocess(post, logits.Array, logits.Offset + scored[j] * lh * lw, crop, image);
                        return post;
                    },
                    workers.Add);
            }
            tally.MasksScored += scored.Length;
            int kept = 0;
            for (int j = 0; j < scored.Length; j++)
            {
                var o = outcomes[j];
                if (!o.Kept) continue;
                kept++;
                if (o.Rle != null) candidates.Add(new Candidate(o.Rle, o.Box, iou[scored[j]], points[start + scored[j] / c], o.Stability));
            }
            // batched_mask_to_box gives float zeros for no masks, and concatenation promotes the crop's boxes to float.
            if (kept == 0) tally.BoxesAreFloat = true;
            tally.Postprocess.Stop();
            afterBatch();
        }
        predictor.ResetImage();

        tally.Postprocess.Start();
        var scores = candidates.Select(c => (double)c.Iou).ToArray();
        candidates = Select(candidates, BoxNms.Batched(candidates.Select(c => c.Box).ToArray(), scores, Options.BoxNmsThresh));
        foreach (var c in candidates)
        {
            c.Box = c.Box.Offset(crop.X0, crop.Y0);
            c.Point = (c.Point.X + crop.X0, c.Point.Y + crop.Y0);
            c.CropBox = crop;
        }
        // A crop with no masks contributes torch.tensor([]), a float tensor, to the crop boxes.
        if (candidates.Count == 0) tally.CropBoxesAreFloat = true;
        tally.Postprocess.Stop();
        return candidates;
    }

    /// <summary>A scored candidate: kept if stable enough, with its RLE unless its box is cut by the crop's edge.</summary>
    readonly record struct Outcome(bool Kept, float Stability, BoxXyxy Box, Rle? Rle);

    /// <summary>One candidate from its low-resolution logits: upscaled and scored, then boxed and encoded if it passes.</summary>
    Outcome Postprocess(StreamedPostprocessing post, float[] logits, int offset, BoxXyxy crop, RgbImage image)
    {
        float stability = post.Run(logits, offset, predictor.MaskThreshold, Options.StabilityScoreOffset);
        if (Options.StabilityScoreThresh > 0 && !(stability >= (float)Options.StabilityScoreThresh)) return default;
        var box = MaskBoxes.FromMask(post.Mask, crop.Height, crop.Width);
        if (MaskBoxes.IsNearCropEdge(box, crop, new BoxXyxy(0, 0, image.Width, image.Height))) return new Outcome(true, stability, box, null);
        return new Outcome(true, stability, box, Rle.EncodeUncropped(post.Mask, crop, image.Height, image.Width));
    }

    /// <summary>The profiler's count: per candidate, 3 flop per value of the two resizes' four passes and 3 comparisons per pixel.</summary>
    double PostprocessFlops(int candidates, int lh, int ch, int cw)
    {
        var (ih, iw) = predictor.InputSize;
        return candidates * (3.0 * ((double)lh * iw + (double)ih * iw + (double)ih * cw + (double)ch * cw) + 3.0 * ch * cw);
    }

    /// <summary>
    /// postprocess_small_regions: fills small holes, then removes small islands, in each mask;
    /// NMS then prefers masks that needed no change (score 1 against 0), and the kept changed
    /// masks take their cleaned form and box.
    /// </summary>
    static List<Candidate> RemoveSmallRegions(List<Candidate> candidates, int h, int w, int minArea, double nmsThresh)
    {
        if (candidates.Count == 0) return candidates;
        int n = candidates.Count;
        var scores = new double[n];
        var boxes = new BoxXyxy[n];
        var cleaned = new Rle?[n];
        for (int i = 0; i < n; i++)
        {
            var (holesFilled, holesChanged) = SmallRegions.Remove(candidates[i].Rle.Decode(), h, w, minArea, RegionMode.Holes);
            var (mask, islandsChanged) = SmallRegions.Remove(holesFilled, h, w, minArea, RegionMode.Islands);
            bool unchanged = !holesChanged && !islandsChanged;
            scores[i] = unchanged ? 1 : 0;
            boxes[i] = MaskBoxes.FromMask(mask, h, w);
            if (!unchanged) cleaned[i] = Rle.Encode(mask, h, w);
        }
        var keep = BoxNms.Batched(boxes, scores, nmsThresh);
        foreach (int i in keep)
            if (cleaned[i] is { } rle)
            {
                candidates[i].Rle = rle;
                candidates[i].Box = boxes[i];
            }
        return Select(candidates, keep);
    }

    static List<Candidate> Select(List<Candidate> candidates, int[] keep) => [.. keep.Select(i => candidates[i])];

    /// <summary>image[y0:y1, x0:x1].</summary>
    static RgbImage Crop(RgbImage image, BoxXyxy crop)
    {
        if (crop.X0 == 0 && crop.Y0 == 0 && crop.X1 == image.Width && crop.Y1 == image.Height) return image;
        var pixels = new byte[crop.Height * crop.Width * 3];
        for (int y = 0; y < crop.Height; y++)
            image.Pixels.AsSpan(((crop.Y0 + y) * image.Width + crop.X0) * 3, crop.Width * 3).CopyTo(pixels.AsSpan(y * crop.Width * 3));
        return new RgbImage(crop.Height, crop.Width, pixels);
    }
}
