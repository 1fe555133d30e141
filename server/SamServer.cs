using System.IO.Compression;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine.Server;

/// <summary>
/// `sam serve`: the page and the JSON API (README, "Interactive segmentation") over one
/// <see cref="SamService"/>, on Kestrel. Binds 127.0.0.1 unless told otherwise, and then only
/// with a token; every user mistake is a 4xx with {"error": "one line"}.
/// </summary>
internal static class SamServer
{
    public static WebApplication Build(SamService service)
    {
        var o = service.Options;
        var address = ParseHost(o.Host);
        if (!IPAddress.IsLoopback(address) && string.IsNullOrEmpty(o.Token))
            throw new SamException($"--host {o.Host} is not loopback: give --token, which every API request must then carry");
        if (o.CacheMb < 1) throw new SamException($"--cache-mb {o.CacheMb}: must be at least 1");
        if (o.MaxUploadMb is < 1 or > 1024) throw new SamException($"--max-upload-mb {o.MaxUploadMb}: must be in [1, 1024]");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddRequestTimeouts(t => t.DefaultPolicy = new RequestTimeoutPolicy { Timeout = TimeSpan.FromMinutes(10) });
        builder.WebHost.UseKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = (long)o.MaxUploadMb << 20;
            k.Listen(address, o.Port);
        });
        var app = builder.Build();
        app.Use(Errors);
        app.UseRequestTimeouts();
        app.Use(async (ctx, next) =>
        {
            if (ctx.Request.Path.StartsWithSegments("/api") && !string.IsNullOrEmpty(o.Token) && TokenOf(ctx.Request) != o.Token)
                throw new ApiError(401, "this server needs its token: Authorization: Bearer TOKEN, or ?token=TOKEN");
            await next();
        });

        app.MapGet("/", () => Page("index.html"));
        app.MapGet("/{file}", (string file) => Page(file));
        app.MapGet("/api/info", () => Results.Json(new JsonObject
        {
            ["model"] = service.ModelName,
            ["model_digest"] = service.ModelDigest,
            ["random_weights"] = service.RandomWeights,
            ["device"] = service.Device.Kind.Name(),
            ["device_name"] = service.Device.Name,
            ["image_size"] = service.ImageSize,
            ["cached_embeddings"] = service.Store.CachedEmbeddings,
            ["encodings"] = service.Encodings,
            ["max_upload_bytes"] = (long)o.MaxUploadMb << 20,
        }));
        app.MapPost("/api/images", async (HttpRequest request) =>
        {
            var bytes = await ReadBody(request);
            if (bytes.Length == 0) throw ApiError.BadRequest("empty upload: send the image file's bytes as the body");
            var entry = service.Upload(bytes);
            return Results.Json(Status(service, entry));
        });
        app.MapGet("/api/images/{id}", (string id) => Results.Json(Status(service, Image(service, id))));
        app.MapPost("/api/images/{id}/predict", async (string id, HttpRequest request, CancellationToken cancel) =>
        {
            Image(service, id);
            var prompt = ParsePrompt(await ReadJson(request));
            var p = await service.Predict(id, prompt, cancel);
            return Results.Bytes(PredictionJson(id, p), "application/json");
        });
        app.MapPost("/api/images/{id}/amg", async (string id, HttpRequest request) =>
        {
            Image(service, id);
            var body = request.ContentLength is 0 ? new JsonObject() : await ReadJson(request);
            var result = await service.Amg(id, AmgOptionsOf(body));
            return Results.Text(AmgJson.Serialize(result, strict: true), "application/json");
        });
        app.MapGet("/api/images/{id}/embedding", (string id) =>
        {
            Image(service, id);
            return Results.File(EmbeddingZip(id, service.Embedding(id)), "application/zip", id + ".zip");
        });
        return app;
    }

    static IPAddress ParseHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
        : IPAddress.TryParse(host, out var a) ? a : throw new SamException($"--host {host}: not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::)");

    static string? TokenOf(HttpRequest r)
    {
        var auth = r.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.Ordinal)) return auth[7..].Trim();
        return r.Query["token"].FirstOrDefault();
    }

    static async Task Errors(HttpContext ctx, Func<Task> next)
    {
        try { await next(); }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var (status, message) = e switch
            {
                ApiError a => (a.Status, a.Message),
                SamException s => (400, s.Message),
                BadHttpRequestException b => (b.StatusCode, b.StatusCode == 413 ? $"the upload is larger than this server takes ({b.Message})" : b.Message),
                JsonException j => (400, $"the body is not valid JSON ({j.Message})"),
                OperationCanceledException when ctx.RequestAborted.IsCancellationRequested => (499, "the client went away"),
                _ => (500, $"internal error: {e.GetType().Name}: {e.Message}"),
            };
            ctx.Response.StatusCode = status;
            await ctx.Response.WriteAsJsonAsync(new JsonObject { ["error"] = message.ReplaceLineEndings(" ") });
        }
    }

    static IResult Page(string file)
    {
        var stream = typeof(SamServer).Assembly.GetManifestResourceStream("wwwroot/" + file);
        if (stream == null) return Results.Json(new JsonObject { ["error"] = $"no page {file}" }, statusCode: 404);
        var type = Path.GetExtension(file) switch { ".html" => "text/html; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".css" => "text/css; charset=utf-8", _ => "application/octet-stream" };
        return Results.Stream(stream, type);
    }

    static ImageEntry Image(SamService service, string id)
    {
        if (!ImageEntry.IsId(id)) throw ApiError.BadRequest($"'{(id.Length > 40 ? id[..40] + "…" : id)}' is not an image id (32 hex digits)");
        return service.Store.Image(id) ?? throw ApiError.NotFound($"no image {id}: upload it with POST /api/images");
    }

    static JsonObject Status(SamService service, ImageEntry e)
    {
        if (e.Status == "pending" && service.Store.Embedding(e.Id) != null) e.Status = "ready";
        var o = new JsonObject
        {
            ["id"] = e.Id,
            ["width"] = e.Width,
            ["height"] = e.Height,
            ["status"] = e.Status,
        };
        if (e.Status == "pending") o["queue_position"] = service.QueuePosition(e.Id) ?? 0;
        if (e.EncodeMs is { } ms) o["encode_ms"] = Math.Round(ms, 1);
        if (e.Error != null) o["error"] = e.Error;
        o["seconds_since_upload"] = Math.Round((DateTime.UtcNow - e.Uploaded).TotalSeconds, 2);
        return o;
    }

    static async Task<byte[]> ReadBody(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        return buffer.ToArray();
    }

    static async Task<JsonObject> ReadJson(HttpRequest request)
    {
        var bytes = await ReadBody(request);
        if (bytes.Length > 1 << 20) throw ApiError.TooLarge("a JSON body over 1 MB");
        return JsonNode.Parse(bytes) as JsonObject ?? throw ApiError.BadRequest("the body must be a JSON object");
    }

    /// <summary>{"points": [[x, y], ...], "labels": [1, 0, ...], "box": [x0, y0, x1, y1], "multimask": true, "mask_input": "id", "mask_index": k}</summary>
    internal static SamService.Prompt ParsePrompt(JsonObject body)
    {
        foreach (var key in body.Select(kv => kv.Key))
            if (key is not ("points" or "labels" or "box" or "multimask" or "mask_input" or "mask_index"))
                throw ApiError.BadRequest($"unknown field '{key}' (fields: points, labels, box, multimask, mask_input, mask_index)");
        float[,]? points = null;
        int[]? labels = null;
        if (body["points"] is { } pointsJson)
        {
            var list = pointsJson as JsonArray ?? throw ApiError.BadRequest("points must be [[x, y], ...]");
            if (list.Count > 256) throw ApiError.BadRequest($"{list.Count} points; at most 256 in one prompt");
            points = new float[list.Count, 2];
            for (int i = 0; i < list.Count; i++)
            {
                if (list[i] is not JsonArray { Count: 2 } xy) throw ApiError.BadRequest($"point {i} must be [x, y]");
                points[i, 0] = Number(xy[0], $"point {i} x");
                points[i, 1] = Number(xy[1], $"point {i} y");
            }
            var labelList = body["labels"] as JsonArray;
            labels = labelList == null ? Enumerable.Repeat(1, list.Count).ToArray()
                : labelList.Select((l, i) => l is JsonValue v && v.TryGetValue(out int n) ? n : throw ApiError.BadRequest($"label {i} must be 0 or 1")).ToArray();
            if (labels.Length != list.Count) throw ApiError.BadRequest($"{list.Count} points but {labels.Length} labels");
        }
        else if (body["labels"] != null) throw ApiError.BadRequest("labels without points");
        float[]? box = null;
        if (body["box"] is { } boxJson)
        {
            if (boxJson is not JsonArray { Count: 4 } b) throw ApiError.BadRequest("box must be [x0, y0, x1, y1]");
            box = [Number(b[0], "box x0"), Number(b[1], "box y0"), Number(b[2], "box x1"), Number(b[3], "box y1")];
        }
        bool multimask = body["multimask"] is not { } m || (m is JsonValue mv && mv.TryGetValue(out bool flag) ? flag : throw ApiError.BadRequest("multimask must be true or false"));
        string? maskInput = body["mask_input"] is { } mi ? (mi is JsonValue miv && miv.TryGetValue(out string? s) ? s : throw ApiError.BadRequest("mask_input must be a prediction id")) : null;
        int? maskIndex = body["mask_index"] is { } mx ? (mx is JsonValue mxv && mxv.TryGetValue(out int k) ? k : throw ApiError.BadRequest("mask_index must be an integer")) : null;
        return new SamService.Prompt(points, labels, box, maskInput, maskIndex, multimask);
    }

    static float Number(JsonNode? n, string what) =>
        n is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? (float)d : throw ApiError.BadRequest($"{what} must be a finite number");

    /// <summary>Masks as COCO uncompressed RLE (column-major counts, as amg.py writes them) with their scores and boxes.</summary>
    // Written straight to bytes: an answer holds three full-size masks' run lengths (hundreds of
    // kilobytes for a ragged mask), which a JsonNode tree of boxed numbers builds slower than the decoder runs.
    internal static byte[] PredictionJson(string imageId, SamService.Prediction p)
    {
        var r = p.Result;
        int plane = r.Height * r.Width;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1 << 16);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("prediction_id", p.Id);
            json.WriteString("image_id", imageId);
            json.WriteNumber("decoder_ms", Math.Round(r.DecoderTime.TotalMilliseconds, 2));
            json.WriteNumber("ms", Math.Round(p.Ms, 2));
            json.WriteStartArray("masks");
            for (int k = 0; k < r.MaskCount; k++)
            {
                var mask = r.Masks.AsSpan(k * plane, plane);
                var rle = Rle.Encode(mask, r.Height, r.Width);
                var (x, y, w, h) = MaskBoxes.FromMask(mask, r.Height, r.Width).ToXywh();
                json.WriteStartObject();
                json.WriteStartObject("segmentation");
                json.WriteStartArray("size");
                json.WriteNumberValue(r.Height);
                json.WriteNumberValue(r.Width);
                json.WriteEndArray();
                json.WriteStartArray("counts");
                foreach (var c in rle.Counts) json.WriteNumberValue(c);
                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteNumber("predicted_iou", r.IouPredictions[k]);
                json.WriteNumber("area", rle.Area);
                json.WriteStartArray("bbox");
                foreach (var v in new[] { x, y, w, h }) json.WriteNumberValue(v);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>amg.py's option names; anything left out keeps its default.</summary>
    internal static AmgOptions AmgOptionsOf(JsonObject body)
    {
        var o = new AmgOptions { OutputMode = AmgOutputMode.UncompressedRle };
        foreach (var (key, value) in body)
        {
            double Num() => value is JsonValue v && v.TryGetValue(out double d) ? d : throw ApiError.BadRequest($"{key} must be a number");
            int Int() => value is JsonValue v && v.TryGetValue(out int i) ? i : throw ApiError.BadRequest($"{key} must be an integer");
            o = key switch
            {
                "points_per_side" => o with { PointsPerSide = Int() },
                "points_per_batch" => o with { PointsPerBatch = Int() },
                "pred_iou_thresh" => o with { PredIouThresh = Num() },
                "stability_score_thresh" => o with { StabilityScoreThresh = Num() },
                "stability_score_offset" => o with { StabilityScoreOffset = Num() },
                "box_nms_thresh" => o with { BoxNmsThresh = Num() },
                "crop_n_layers" => o with { CropNLayers = Int() },
                "crop_nms_thresh" => o with { CropNmsThresh = Num() },
                "crop_overlap_ratio" => o with { CropOverlapRatio = Num() },
                "crop_n_points_downscale_factor" => o with { CropNPointsDownscaleFactor = Int() },
                "min_mask_region_area" => o with { MinMaskRegionArea = Int() },
                _ => throw ApiError.BadRequest($"unknown AMG option '{key}' (amg.py's names, e.g. points_per_side, pred_iou_thresh)"),
            };
        }
        return o;
    }

    /// <summary>EMB.npy and EMB.json as `sam embed` writes them, zipped: unzip and pass `sam segment --embedding ID.npy`.</summary>
    static byte[] EmbeddingZip(string id, ImageEmbedding embedding)
    {
        var dir = Directory.CreateTempSubdirectory("sam-serve-embedding-").FullName;
        try
        {
            var npy = Path.Combine(dir, id + ".npy");
            embedding.Save(npy);
            using var zipped = new MemoryStream();
            using (var zip = new ZipArchive(zipped, ZipArchiveMode.Create, leaveOpen: true))
                foreach (var file in new[] { npy, ImageEmbedding.MetadataPath(npy) })
                {
                    using var entry = zip.CreateEntry(Path.GetFileName(file), CompressionLevel.Fastest).Open();
                    using var source = File.OpenRead(file);
                    source.CopyTo(entry);
                }
            return zipped.ToArray();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
