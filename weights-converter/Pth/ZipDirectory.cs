using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace SamEngine.Weights.Pth;

/// <summary>One stored (uncompressed) member of the archive: where its bytes lie in the file.</summary>
internal readonly record struct ZipEntry(string Name, long DataStart, long Size, uint Crc32);

/// <summary>
/// The central directory of a PyTorch checkpoint's zip container (zip64 included). PyTorch
/// stores every member uncompressed, so each one is a byte range of the file that tensors are
/// read from in place; nothing is extracted. Every size and offset is checked against the file
/// before it is believed.
/// </summary>
internal static class ZipDirectory
{
    // ViT-H's directory is about 60 KB (some 600 members); one above this is hostile.
    const long MaxDirectoryBytes = 8L << 20;

    public static Dictionary<string, ZipEntry> Read(string path, SafeFileHandle file)
    {
        long length = RandomAccess.GetLength(file);
        var (count, dirStart, dirSize) = FindEnd(path, file, length);
        if (dirSize > MaxDirectoryBytes) throw Bad(path, $"its zip directory claims {dirSize} bytes");
        if (dirStart < 0 || dirSize < 0 || dirStart > length - dirSize) throw Bad(path, "its zip directory lies outside the file (truncated?)");
        if (count < 0 || count > dirSize / 46) throw Bad(path, $"its zip directory claims {count} entries in {dirSize} bytes");

        var dir = new byte[dirSize];
        ReadAt(path, file, dir, dirStart);
        var entries = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        int p = 0;
        for (long i = 0; i < count; i++)
        {
            if (p + 46 > dir.Length || BinaryPrimitives.ReadUInt32LittleEndian(dir.AsSpan(p)) != 0x02014b50)
                throw Bad(path, $"zip directory entry {i} is corrupt");
            var h = dir.AsSpan(p);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            ushort method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (p + 46L + nameLen + extraLen + commentLen > dir.Length) throw Bad(path, $"zip directory entry {i} runs past the directory");
            string name = System.Text.Encoding.UTF8.GetString(h.Slice(46, nameLen));
            ReadZip64Extra(path, h.Slice(46 + nameLen, extraLen), ref size, ref compressed, ref local);
            p += 46 + nameLen + extraLen + commentLen;

            if ((flags & 1) != 0) throw Bad(path, $"zip member '{name}' is encrypted");
            if (method != 0 || compressed != size)
                throw Bad(path, $"zip member '{name}' is compressed (method {method}); PyTorch checkpoints store members uncompressed");
            long dataStart = LocalDataStart(path, file, name, local, length);
            if (size < 0 || size > length - dataStart) throw Bad(path, $"zip member '{name}' runs past the end of the file (truncated?)");
            if (!entries.TryAdd(name, new ZipEntry(name, dataStart, size, crc))) throw Bad(path, $"zip member '{name}' appears twice");
        }
        return entries;
    }

    /// <summary>The end-of-central-directory record (and its zip64 twin when a field overflowed).</summary>
    static (long Count, long Start, long Size) FindEnd(string path, SafeFileHandle file, long length)
    {
        if (length < 22) throw Bad(path, "the file is too short to be a zip archive (truncated?)");
        int tail = (int)Math.Min(length, 22 + 65535);
        var buf = new byte[tail];
        ReadAt(path, file, buf, length - tail);
        for (int i = tail - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(i)) != 0x06054b50) continue;
            var e = buf.AsSpan(i);
            long count = BinaryPrimitives.ReadUInt16LittleEndian(e[10..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(e[12..]);
            long start = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            if (count != 0xFFFF && size != 0xFFFFFFFF && start != 0xFFFFFFFF) return (count, start, size);
            long endAt = length - tail + i;
            if (endAt < 20) throw Bad(path, "its zip64 locator is missing");
            var loc = new byte[20];
            ReadAt(path, file, loc, endAt - 20);
            if (BinaryPrimitives.ReadUInt32LittleEndian(loc) != 0x07064b50) throw Bad(path, "its zip64 locator is missing");
            long at = BinaryPrimitives.ReadInt64LittleEndian(loc.AsSpan(8));
            if (at < 0 || at > length - 56) throw Bad(path, "its zip64 directory record lies outside the file");
            var rec = new byte[56];
            ReadAt(path, file, rec, at);
            if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != 0x06064b50) throw Bad(path, "its zip64 directory record is corrupt");
            return (BinaryPrimitives.ReadInt64LittleEndian(rec.AsSpan(32)), BinaryPrimitives.ReadInt64LittleEndian(rec.AsSpan(48)),
                BinaryPrimitives.ReadInt64LittleEndian(rec.AsSpan(40)));
        }
        throw Bad(path, "no zip directory found (truncated, or not a PyTorch zip checkpoint)");
    }

    static void ReadZip64Extra(string path, ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long local)
    {
        while (extra.Length >= 4)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int len = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (4 + len > extra.Length) break;
            if (id == 0x0001)
            {
                var f = extra.Slice(4, len);
                if (size == 0xFFFFFFFF) size = Take(ref f);
                if (compressed == 0xFFFFFFFF) compressed = Take(ref f);
                if (local == 0xFFFFFFFF) local = Take(ref f);
            }
            extra = extra[(4 + len)..];
        }

        long Take(ref ReadOnlySpan<byte> f)
        {
            if (f.Length < 8) throw Bad(path, "a zip64 extra field is truncated");
            long v = BinaryPrimitives.ReadInt64LittleEndian(f);
            f = f[8..];
            return v;
        }
    }

    static long LocalDataStart(string path, SafeFileHandle file, string name, long local, long length)
    {
        if (local < 0 || local > length - 30) throw Bad(path, $"zip member '{name}' has its header outside the file (truncated?)");
        var h = new byte[30];
        ReadAt(path, file, h, local);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != 0x04034b50) throw Bad(path, $"zip member '{name}' has a corrupt header");
        return local + 30 + BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(28));
    }

    public static void ReadAt(string path, SafeFileHandle file, Span<byte> dst, long position)
    {
        while (dst.Length > 0)
        {
            int n = RandomAccess.Read(file, dst, position);
            if (n == 0) throw Bad(path, "the file ends early (truncated?)");
            dst = dst[n..];
            position += n;
        }
    }

    /// <summary>The zip (and PNG, gzip) CRC-32, to catch a damaged data.pkl before decoding it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data) => FileFormats.Crc32.Compute(data);

    static CheckpointException Bad(string path, string problem) => new(path, problem);
}
