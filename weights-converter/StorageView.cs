using Microsoft.Win32.SafeHandles;

namespace SamEngine.Weights;

/// <summary>
/// A tensor as PyTorch lays it out: a storage of elements at a byte position in the open file, and
/// a view into it (element offset, sizes, strides). Views into larger storages come out right;
/// a contiguous view is read from the file straight into the destination.
/// </summary>
internal sealed class StorageView
{
    public StorageView(string path, SafeFileHandle file, long storageStart, DType dtype, long offset, int[] shape, long[] stride)
    {
        this.path = path;
        this.file = file;
        this.storageStart = storageStart;
        this.dtype = dtype;
        this.offset = offset;
        this.shape = shape;
        this.stride = stride;
    }

    readonly string path;
    readonly SafeFileHandle file;
    readonly long storageStart, offset;
    readonly DType dtype;
    readonly int[] shape;
    readonly long[] stride;

    /// <summary>
    /// The number of storage elements a view needs (0 for an empty view), or -1 when a field is
    /// negative or the arithmetic overflows. Callers compare it with the storage's size.
    /// </summary>
    public static long Extent(long offset, int[] shape, long[] stride)
    {
        if (offset < 0 || shape.Length != stride.Length) return -1;
        long last = offset;
        try
        {
            foreach (var s in shape) if (s < 0) return -1;
            if (shape.Any(s => s == 0)) return 0;
            for (int i = 0; i < shape.Length; i++)
            {
                if (stride[i] < 0) return -1;
                last = checked(last + (shape[i] - 1) * stride[i]);
            }
            return checked(last + 1);
        }
        catch (OverflowException) { return -1; }
    }

    public static bool IsContiguous(int[] shape, long[] stride)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    public ByteReader Reader => Read;

    void Read(Span<byte> dst)
    {
        int es = dtype.Size();
        if (dst.Length == 0) return;
        if (IsContiguous(shape, stride))
        {
            ReadExactly(dst, storageStart + offset * es);
            return;
        }
        // A strided view: read the storage range it spans once and gather from it, unless that
        // range dwarfs the view (a few values picked out of a large storage): then element by element.
        long spanBytes = (Extent(offset, shape, stride) - offset) * es;
        int written = 0;
        if (spanBytes <= Math.Max(4L * dst.Length, 1 << 20))
        {
            var span = new byte[spanBytes];
            ReadExactly(span, storageStart + offset * es);
            Gather(span, 0, 0, dst, ref written, es);
        }
        else Gather(null, 0, 0, dst, ref written, es);
    }

    void Gather(byte[]? span, int dim, long at, Span<byte> dst, ref int written, int es)
    {
        if (dim == shape.Length)
        {
            if (span != null) span.AsSpan(checked((int)(at * es)), es).CopyTo(dst.Slice(written, es));
            else ReadExactly(dst.Slice(written, es), storageStart + (offset + at) * es);
            written += es;
            return;
        }
        for (int i = 0; i < shape[dim]; i++) Gather(span, dim + 1, at + i * stride[dim], dst, ref written, es);
    }

    void ReadExactly(Span<byte> dst, long position)
    {
        while (dst.Length > 0)
        {
            int n = RandomAccess.Read(file, dst, position);
            if (n == 0) throw new CheckpointException(path, $"the file ended while reading tensor data at byte {position} (was it truncated after loading?)");
            dst = dst[n..];
            position += n;
        }
    }
}
