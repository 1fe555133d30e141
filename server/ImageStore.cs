using System.Security.Cryptography;
using SamEngine.Engine;
using SamEngine.FileFormats;
using SamEngine.Model;

namespace SamEngine.Server;

/// <summary>One uploaded image: its id (from its content), its bytes and size, and where its embedding stands.</summary>
internal sealed class ImageEntry
{
    public required string Id { get; init; }
    public required byte[] Bytes { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public string Status { get; set; } = "pending";
    public string? Error { get; set; }
    public double? EncodeMs { get; set; }
    public DateTime Uploaded { get; } = DateTime.UtcNow;

    /// <summary>The first 32 hex digits of the SHA-256 of the file's bytes: the same bytes give the same id.</summary>
    public static string IdOf(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..32];

    /// <summary>Ids are only ever hex: nothing else reaches a path.</summary>
    public static bool IsId(string s) => s.Length == 32 && s.All(char.IsAsciiHexDigitLower);
}

/// <summary>
/// The server's images and embeddings. Embeddings are keyed by the image's content and the
/// model's digest, kept in memory up to a byte budget (least recently used dropped first) and,
/// with a cache folder, on disk as `sam embed` writes them, so a restart keeps them: a cached
/// image is never encoded again. Uploaded bytes are kept for AMG and re-encoding, up to a count.
/// </summary>
internal sealed class ImageStore(long cacheBytes, string? cacheDir, string modelDigest)
{
    const int MaxImages = 256;
    readonly object gate = new();
    readonly Dictionary<string, ImageEntry> images = new();
    readonly LinkedList<string> imageOrder = new();
    readonly Dictionary<string, (ImageEmbedding Embedding, LinkedListNode<string> Node)> embeddings = new();
    readonly LinkedList<string> embeddingOrder = new();
    long embeddingBytes;

    /// <summary>The disk folder of this model's embeddings (by digest, so two models never share one).</summary>
    string? ModelDir => cacheDir == null ? null : Path.Combine(cacheDir, modelDigest.Replace("sha256:", "")[..16]);

    public ImageEntry? Image(string id)
    {
        lock (gate) return images.GetValueOrDefault(id);
    }

    /// <summary>Adds an upload (or returns the entry the same bytes made before).</summary>
    public (ImageEntry Entry, bool IsNew) Add(ImageEntry entry)
    {
        lock (gate)
        {
            if (images.TryGetValue(entry.Id, out var existing)) return (existing, false);
            images[entry.Id] = entry;
            imageOrder.AddLast(entry.Id);
            while (images.Count > MaxImages)
            {
                images.Remove(imageOrder.First!.Value);
                imageOrder.RemoveFirst();
            }
            return (entry, true);
        }
    }

    /// <summary>The embedding of an image, from memory or the cache folder; null if it was never made (or dropped).</summary>
    public ImageEmbedding? Embedding(string id)
    {
        lock (gate)
        {
            if (embeddings.TryGetValue(id, out var hit))
            {
                embeddingOrder.Remove(hit.Node);
                embeddingOrder.AddLast(hit.Node);
                return hit.Embedding;
            }
        }
        var path = ModelDir is { } dir ? Path.Combine(dir, id + ".npy") : null;
        if (path == null || !File.Exists(path)) return null;
        ImageEmbedding loaded;
        try { loaded = ImageEmbedding.Load(path); }
        catch (SamException) { return null; } // a damaged cache file is a miss, not an error
        Keep(id, loaded);
        return loaded;
    }

    /// <summary>Keeps a new embedding in memory (dropping the least recently used beyond the budget) and in the cache folder.</summary>
    public void Put(string id, ImageEmbedding embedding)
    {
        Keep(id, embedding);
        if (ModelDir is { } dir)
        {
            Directory.CreateDirectory(dir);
            try { embedding.Save(Path.Combine(dir, id + ".npy")); }
            catch (SamException) { } // a full disk costs persistence, not the request
        }
    }

    void Keep(string id, ImageEmbedding embedding)
    {
        lock (gate)
        {
            if (embeddings.ContainsKey(id)) return;
            embeddings[id] = (embedding, embeddingOrder.AddLast(id));
            embeddingBytes += embedding.Data.Length * sizeof(float);
            while (embeddingBytes > cacheBytes && embeddingOrder.Count > 1)
            {
                var old = embeddingOrder.First!.Value;
                embeddingOrder.RemoveFirst();
                embeddingBytes -= embeddings[old].Embedding.Data.Length * sizeof(float);
                embeddings.Remove(old);
            }
        }
    }

    public int CachedEmbeddings
    {
        get { lock (gate) return embeddings.Count; }
    }
}
