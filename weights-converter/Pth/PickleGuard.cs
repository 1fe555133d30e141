using System.Buffers.Binary;
using System.Text;

namespace SamEngine.Weights.Pth;

/// <summary>
/// Reads a pickle's opcodes without executing any of them and refuses it unless every global it
/// names is one a state dict needs. A pickle is a program, and PyTorch's default loader runs it;
/// here nothing is decoded until this walk has accepted the whole stream, so a payload such as
/// os.system or builtins.eval is refused before anything runs. It also bounds every length and
/// line, so the decoder behind it only ever sees a well-formed stream.
/// </summary>
internal static class PickleGuard
{
    /// <summary>The globals a torch.save'd state dict uses; nothing else is ever resolved.</summary>
    public static readonly IReadOnlySet<string> AllowedGlobals = new HashSet<string>(StringComparer.Ordinal)
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch.FloatStorage",
        "torch.HalfStorage",
        "torch.BFloat16Storage",
        "torch.LongStorage",
    };

    const int MaxLine = 256;     // module/name lines, numbers in text form, persistent ids
    const int MaxLongBytes = 64; // no state dict needs integers wider than this

    public static void Check(string path, byte[] pickle) => new Scanner(path, pickle).Run();

    sealed class Scanner(string path, byte[] p)
    {
        // A mirror of the decoder's memo and its top two stack items, tracked only far enough to
        // resolve STACK_GLOBAL's operands when they are plain strings; anything else is refused.
        readonly Dictionary<int, string?> memo = new(); // keyed as the decoder keys its memo
        string? top, below;
        int known, at;
        byte op;

        public void Run()
        {
            while (true)
            {
                if (at >= p.Length) throw Bad(path, "data.pkl ends before its STOP opcode (truncated)");
                int opAt = at;
                op = p[at++];
                switch (op)
                {
                    case (byte)'.': // STOP
                        return;

                    // Pushes of non-string values.
                    case (byte)'N': case 0x88: case 0x89: case (byte)')': case (byte)']': case (byte)'}': case 0x8f:
                        Push(null); break;
                    case (byte)'K': Skip(1); Push(null); break;
                    case (byte)'M': Skip(2); Push(null); break;
                    case (byte)'J': Skip(4); Push(null); break;
                    case (byte)'G': Skip(8); Push(null); break;
                    case (byte)'I': case (byte)'L': case (byte)'F': Line(MaxLine); Push(null); break;
                    case 0x8a: Skip(Length(1)); Push(null); break; // LONG1
                    case 0x8b: // LONG4
                    {
                        long n = Length(4);
                        if (n > MaxLongBytes) throw Bad(path, $"data.pkl holds a {n}-byte integer at byte {opAt}; a state dict has none");
                        Skip(n); Push(null); break;
                    }
                    case (byte)'C': Skip(Length(1)); Push(null); break; // SHORT_BINBYTES
                    case (byte)'B': Skip(Length(4)); Push(null); break; // BINBYTES
                    case 0x8e: case 0x96: Skip(Length(8)); Push(null); break; // BINBYTES8, BYTEARRAY8

                    // Pushes of strings (remembered for STACK_GLOBAL).
                    case 0x8c: Push(Utf8(Length(1))); break; // SHORT_BINUNICODE
                    case (byte)'X': Push(Utf8(Length(4))); break; // BINUNICODE
                    case 0x8d: Push(Utf8(Length(8))); break; // BINUNICODE8
                    case (byte)'U': Push(Latin1(Length(1))); break; // SHORT_BINSTRING
                    case (byte)'T': Push(Latin1(Length(4))); break; // BINSTRING
                    case (byte)'S': case (byte)'V': Line(p.Length); Push(null); break; // STRING, UNICODE (text forms)

                    // Memo.
                    case (byte)'h': Get(Byte()); break;
                    case (byte)'j': Get(unchecked((int)ReadU32())); break;
                    case (byte)'g': Get(ParseIndex(Line(MaxLine))); break;
                    case (byte)'q': Put(Byte()); break;
                    case (byte)'r': Put(unchecked((int)ReadU32())); break;
                    case (byte)'p': Put(ParseIndex(Line(MaxLine))); break;
                    case 0x94: Put(memo.Count); break; // MEMOIZE

                    // Globals: the only way a pickle reaches code.
                    case (byte)'c':
                    {
                        string module = Ascii(Line(MaxLine)), name = Ascii(Line(MaxLine));
                        Allow(module, name, opAt);
                        Push(null); break;
                    }
                    case 0x93: // STACK_GLOBAL
                        if (known < 2 || top == null || below == null)
                            throw Bad(path, $"refusing data.pkl: it computes a global's name at run time (STACK_GLOBAL at byte {opAt})");
                        Allow(below, top, opAt);
                        known = 0; Push(null); break;
                    case (byte)'i': // INST
                        throw Bad(path, $"refusing data.pkl: it instantiates {Ascii(Line(MaxLine))}.{Ascii(Line(MaxLine))} (INST at byte {opAt}); a state dict never does");
                    case (byte)'o': case 0x81: case 0x92:
                        throw Bad(path, $"refusing data.pkl: opcode {Name(op)} at byte {opAt} creates an object from a class, which a state dict never does");
                    case 0x82: case 0x83: case 0x84:
                        throw Bad(path, $"refusing data.pkl: opcode {Name(op)} at byte {opAt} loads a global from the extension registry");
                    case 0x97: case 0x98:
                        throw Bad(path, $"refusing data.pkl: opcode {Name(op)} at byte {opAt} needs out-of-band buffers");

                    // Structure: stack effects we do not track.
                    case (byte)'(': case (byte)'0': case (byte)'1': case (byte)'2': case (byte)'R': case (byte)'a': case (byte)'b':
                    case (byte)'d': case (byte)'e': case (byte)'l': case (byte)'s': case (byte)'t': case (byte)'u': case (byte)'Q':
                    case 0x85: case 0x86: case 0x87: case 0x90: case 0x91:
                        known = 0; break;
                    case (byte)'P': Line(MaxLine); known = 0; break; // PERSID (text)
                    case 0x80: // PROTO
                        if (Byte() > 5) throw Bad(path, $"data.pkl uses pickle protocol {p[at - 1]}, newer than any PyTorch writes");
                        break;
                    case 0x95: Skip(8); break; // FRAME: a length hint; the opcodes inside follow inline

                    default:
                        throw Bad(path, $"data.pkl has an unknown opcode 0x{op:x2} at byte {opAt} (corrupt, or not a pickle)");
                }
            }
        }

        void Push(string? s)
        {
            below = top;
            top = s;
            known = Math.Min(known + 1, 2);
        }

        void Get(int index)
        {
            if (!memo.TryGetValue(index, out var s)) throw Bad(path, $"data.pkl reads memo slot {index} before writing it");
            Push(s);
        }

        void Put(int index)
        {
            if (index < 0) throw Bad(path, "data.pkl writes a negative memo slot");
            memo[index] = known >= 1 ? top : null;
        }

        void Allow(string module, string name, int opAt)
        {
            if (!AllowedGlobals.Contains(module + "." + name))
                throw Bad(path, $"refusing data.pkl: it calls {Printable(module)}.{Printable(name)} (byte {opAt}), which is not among the globals a state dict needs ({string.Join(", ", AllowedGlobals)})");
        }

        byte Byte()
        {
            if (at >= p.Length) throw Truncated();
            return p[at++];
        }

        void Skip(long n)
        {
            if (n > p.Length - at) throw Truncated();
            at += (int)n;
        }

        long Length(int width)
        {
            if (width > p.Length - at) throw Truncated();
            long n = width switch
            {
                1 => p[at],
                4 => op == 0x8b ? BinaryPrimitives.ReadInt32LittleEndian(p.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(at)),
                _ => BinaryPrimitives.ReadInt64LittleEndian(p.AsSpan(at)),
            };
            at += width;
            if (n < 0 || n > p.Length - at) throw Truncated();
            return n;
        }

        long ReadU32()
        {
            if (4 > p.Length - at) throw Truncated();
            long v = BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(at));
            at += 4;
            return v;
        }

        ReadOnlySpan<byte> Line(int max)
        {
            var rest = p.AsSpan(at);
            int nl = rest[..Math.Min(rest.Length, max + 1)].IndexOf((byte)'\n');
            if (nl < 0) throw rest.Length <= max ? Truncated() : Bad(path, $"data.pkl has a text field longer than {max} bytes at byte {at}");
            at += nl + 1;
            return rest[..nl];
        }

        string Utf8(long n)
        {
            var s = Encoding.UTF8.GetString(p, at, (int)n);
            at += (int)n;
            return s;
        }

        string Latin1(long n)
        {
            var s = Encoding.Latin1.GetString(p, at, (int)n);
            at += (int)n;
            return s;
        }

        int ParseIndex(ReadOnlySpan<byte> line) =>
            int.TryParse(Encoding.ASCII.GetString(line), out var v) ? v : throw Bad(path, "data.pkl has a malformed memo index");

        CheckpointException Truncated() => Bad(path, "data.pkl is truncated or corrupt (an opcode's argument runs past its end)");
    }

    // Printable ASCII only, so that a name in an error message stays one readable line.
    static string Ascii(ReadOnlySpan<byte> s) => string.Concat(s.ToArray().Select(b => b is >= 0x20 and < 0x7f ? (char)b : '?'));

    static string Printable(string s) => string.Concat(s.Select(c => c is >= ' ' and < (char)0x7f ? c : '?'));

    static string Name(byte op) => op switch
    {
        (byte)'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x97 => "NEXT_BUFFER",
        _ => "READONLY_BUFFER",
    };

    static CheckpointException Bad(string path, string problem) => new(path, problem);
}
