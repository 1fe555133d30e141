using System.Collections;
using Razorvine.Pickle;

namespace SamEngine.Weights.Pth;

/// <summary>A storage named by a persistent id: data/&lt;key&gt; in the archive, of <c>Elements</c> values.</summary>
internal sealed record StorageRef(string Key, DType DType, long Elements, ZipEntry Entry);

/// <summary>
/// What torch._utils._rebuild_tensor_v2 describes: a view into a storage. <c>Sequence</c> grows
/// in the order tensors are rebuilt, i.e. the order of the file, which the decoder's dict
/// (filled batch by batch, in reverse) does not keep.
/// </summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, int[] Shape, long[] Stride, long Sequence);

/// <summary>
/// Decodes a data.pkl that <see cref="PickleGuard"/> has accepted. The allowed globals map to
/// constructors that only record what they are given: a storage type is a marker, a rebuilt
/// tensor is a <see cref="TensorRef"/>, an OrderedDict is an ordered table. No tensor data is
/// touched here.
/// </summary>
internal sealed class TorchUnpickler : Unpickler
{
    static TorchUnpickler()
    {
        // Razorvine's registry is process-wide; these are the only entries this project adds.
        registerConstructor("collections", "OrderedDict", new OrderedDictConstructor());
        registerConstructor("torch._utils", "_rebuild_tensor_v2", new RebuildTensor());
        registerConstructor("torch._utils", "_rebuild_parameter", new RebuildParameter());
        registerConstructor("torch", "FloatStorage", new StorageType(DType.F32, "torch.FloatStorage"));
        registerConstructor("torch", "HalfStorage", new StorageType(DType.F16, "torch.HalfStorage"));
        registerConstructor("torch", "BFloat16Storage", new StorageType(DType.BF16, "torch.BFloat16Storage"));
        registerConstructor("torch", "LongStorage", new StorageType(DType.I64, "torch.LongStorage"));
    }

    public TorchUnpickler(string path, string root, IReadOnlyDictionary<string, ZipEntry> entries)
    {
        this.path = path;
        this.root = root;
        this.entries = entries;
    }

    readonly string path, root;
    readonly IReadOnlyDictionary<string, ZipEntry> entries;
    readonly Dictionary<string, StorageRef> storages = new(StringComparer.Ordinal);

    /// <summary>Decodes an accepted data.pkl into its top-level object.</summary>
    public object Decode(byte[] pickle)
    {
        try
        {
            return loads(pickle);
        }
        catch (CheckpointException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The guard has bounded the stream, so what is left is a pickle that is well-formed
            // opcode by opcode but does not make sense (wrong stack contents, bad types).
            throw new CheckpointException(path, $"data.pkl is corrupt: {OneLine(e.Message)}", e);
        }
    }

    // ('storage', storage type, key, location, number of elements)
    protected override object persistentLoad(object pid)
    {
        if (pid is not object[] { Length: 5 } t || t[0] is not "storage" || t[1] is not StorageType type || t[2] is not string key
            || !TryLong(t[4], out long elements) || elements < 0)
            throw new CheckpointException(path, "data.pkl has a persistent id that is not a torch storage");
        if (storages.TryGetValue(key, out var known))
        {
            if (known.DType != type.DType || known.Elements != elements)
                throw new CheckpointException(path, $"storage data/{key} is declared twice with different types or sizes");
            return known;
        }
        if (!entries.TryGetValue(root + "data/" + key, out var entry))
            throw new CheckpointException(path, $"storage data/{key} is missing from the archive (truncated?)");
        if (elements > long.MaxValue / type.DType.Size() || entry.Size != elements * type.DType.Size())
            throw new CheckpointException(path, $"storage data/{key} holds {entry.Size} bytes, but data.pkl declares {elements} {type.DType.TorchName()} values");
        var s = new StorageRef(key, type.DType, elements, entry);
        storages.Add(key, s);
        return s;
    }

    internal static bool TryLong(object? o, out long v)
    {
        switch (o)
        {
            case int i: v = i; return true;
            case long l: v = l; return true;
            default: v = 0; return false;
        }
    }

    static string OneLine(string s) => s.ReplaceLineEndings(" ");

    /// <summary>A state dict's OrderedDict; PyTorch's _metadata (per-module versions) is ignored.</summary>
    internal sealed class OrderedTable : Hashtable
    {
        public void __setstate__(object state) { }
    }

    sealed class OrderedDictConstructor : IObjectConstructor
    {
        public object construct(object[] args) => args.Length == 0
            ? new OrderedTable()
            : throw new PickleException("OrderedDict is called with arguments; a state dict never does that");
    }

    sealed class StorageType(DType dtype, string name) : IObjectConstructor
    {
        public DType DType { get; } = dtype;
        public object construct(object[] args) => throw new PickleException($"{name} is called; a state dict only names it");
    }

    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    sealed class RebuildTensor : IObjectConstructor
    {
        static long sequence;

        public object construct(object[] a)
        {
            if (a.Length is < 6 or > 7 || a[0] is not StorageRef s || !TryLong(a[1], out long offset)
                || a[2] is not object[] size || a[3] is not object[] stride || size.Length != stride.Length || size.Length > 8)
                throw new PickleException("_rebuild_tensor_v2 is called with arguments that do not describe a tensor");
            var shape = new int[size.Length];
            var strides = new long[size.Length];
            for (int i = 0; i < size.Length; i++)
            {
                if (!TryLong(size[i], out long n) || n < 0 || n > int.MaxValue || !TryLong(stride[i], out strides[i]))
                    throw new PickleException("_rebuild_tensor_v2 is called with a malformed size or stride");
                shape[i] = (int)n;
            }
            return new TensorRef(s, offset, shape, strides, Interlocked.Increment(ref sequence));
        }
    }

    // (data, requires_grad, backward_hooks): an nn.Parameter is its tensor.
    sealed class RebuildParameter : IObjectConstructor
    {
        public object construct(object[] a) => a.Length >= 1 && a[0] is TensorRef t
            ? t : throw new PickleException("_rebuild_parameter is called without a tensor");
    }
}
