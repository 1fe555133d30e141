using System.Buffers.Binary;
using System.Text;

namespace SamEngine.Tests.Weights;

/// <summary>Writes pickle opcodes one by one, so tests can build state dicts and hostile payloads byte by byte.</summary>
internal sealed class PickleWriter
{
    readonly MemoryStream s = new();

    public PickleWriter Op(char op) { s.WriteByte((byte)op); return this; }
    public PickleWriter Op(byte op) { s.WriteByte(op); return this; }
    public PickleWriter Proto(int v) => Op(0x80).Byte(v);
    public PickleWriter Global(string module, string name) => Op('c').Raw(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    public PickleWriter Mark() => Op('(');
    public PickleWriter Tuple() => Op('t');
    public PickleWriter Tuple1() => Op(0x85);
    public PickleWriter EmptyTuple() => Op(')');
    public PickleWriter Reduce() => Op('R');
    public PickleWriter SetItems() => Op('u');
    public PickleWriter SetItem() => Op('s');
    public PickleWriter BinPersId() => Op('Q');
    public PickleWriter False() => Op(0x89);
    public PickleWriter Stop() => Op('.');
    public PickleWriter Memoize() => Op(0x94);
    public PickleWriter BinPut(int i) => Op('q').Byte(i);
    public PickleWriter BinGet(int i) => Op('h').Byte(i);
    public PickleWriter StackGlobal() => Op(0x93);

    public PickleWriter Str(string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        Op('X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, b.Length);
        return Raw(n.ToArray()).Raw(b);
    }

    public PickleWriter ShortStr(string v)
    {
        var b = Encoding.UTF8.GetBytes(v);
        return Op(0x8c).Byte(b.Length).Raw(b);
    }

    public PickleWriter Int(long v)
    {
        if (v is >= int.MinValue and <= int.MaxValue)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return Op('J').Raw(b.ToArray());
        }
        var bytes = new System.Numerics.BigInteger(v).ToByteArray();
        return Op(0x8a).Byte(bytes.Length).Raw(bytes);
    }

    public PickleWriter Ints(IEnumerable<long> values)
    {
        Mark();
        foreach (var v in values) Int(v);
        return Tuple();
    }

    /// <summary>torch._utils._rebuild_tensor_v2 of a view into a storage, as torch.save writes it.</summary>
    public PickleWriter Tensor(string storageType, string key, long storageElements, long offset, int[] shape, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Int(storageElements).Tuple().BinPersId();
        Int(offset).Ints(shape.Select(x => (long)x)).Ints(stride).False();
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    public PickleWriter Byte(int v) { s.WriteByte((byte)v); return this; }
    public PickleWriter Raw(byte[] b) { s.Write(b); return this; }
    public byte[] ToArray() => s.ToArray();
}
