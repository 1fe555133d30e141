using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SamEngine.Tests.Fuzz;

/// <summary>
/// Seeded mutations: byte-level ones for binary formats, token-level ones for text (a .npy header,
/// JSON, prompt and option strings). Each returns the result and a short description of what it
/// did (op@offset=value; …) for the failure report. A region of interest (a file's header) can be
/// given: half the byte positions are then drawn inside it.
/// </summary>
public static partial class Mutator
{
    /// <summary>Boundary values written as 2-, 4- or 8-byte integers, little- or big-endian.</summary>
    static readonly ulong[] Boundary =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
        0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFE, 0x3FFFFFFF, 16384, 16385, 65535UL * 65535,
    ];

    static readonly byte[] SpecialBytes = [0, 1, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x20, 0x40];

    /// <summary>One to four byte-level edits of <paramref name="src"/>; <paramref name="others"/> are splice partners.</summary>
    public static (byte[] Bytes, string Description) Mutate(Random r, byte[] src, IReadOnlyList<byte[]>? others = null, int focusStart = 0, int focusEnd = 0)
    {
        var b = new List<byte>(src);
        var ops = new List<string>();
        int rounds = r.Next(10) switch { < 6 => 1, < 9 => 2, _ => r.Next(3, 5) };
        for (int k = 0; k < rounds; k++)
        {
            if (b.Count == 0)
            {
                var fresh = new byte[r.Next(1, 16)];
                r.NextBytes(fresh);
                b.AddRange(fresh);
                ops.Add($"fill{fresh.Length}");
                continue;
            }
            int Pos()
            {
                if (focusEnd > focusStart && r.Next(2) == 0) return Math.Min(b.Count - 1, focusStart + r.Next(focusEnd - focusStart));
                return r.Next(b.Count);
            }
            int RunLength() => r.Next(8) == 0 ? r.Next(1, 1025) : r.Next(1, 65);
            switch (r.Next(12))
            {
                case 0:
                {
                    int n = r.Next(1, 9), p0 = Pos();
                    for (int i = 0; i < n; i++)
                    {
                        int p = i == 0 ? p0 : Pos();
                        b[p] ^= (byte)(1 << r.Next(8));
                    }
                    ops.Add($"flip{n}bits@{p0}");
                    break;
                }
                case 1:
                {
                    int n = r.Next(1, 5), p0 = Pos();
                    for (int i = 0; i < n; i++)
                    {
                        int p = i == 0 ? p0 : Pos();
                        b[p] = r.Next(2) == 0 ? SpecialBytes[r.Next(SpecialBytes.Length)] : (byte)r.Next(256);
                    }
                    ops.Add($"set{n}bytes@{p0}");
                    break;
                }
                case 2:
                {
                    int p = Pos(), len = RunLength();
                    var ins = new byte[len];
                    if (r.Next(2) == 0) r.NextBytes(ins);
                    else Array.Fill(ins, SpecialBytes[r.Next(SpecialBytes.Length)]);
                    b.InsertRange(p, ins);
                    ops.Add($"insert{len}@{p}");
                    break;
                }
                case 3:
                {
                    int p = Pos(), len = Math.Min(RunLength(), b.Count - p);
                    b.RemoveRange(p, len);
                    ops.Add($"delete{len}@{p}");
                    break;
                }
                case 4:
                {
                    int p = r.Next(2) == 0 ? Pos() : r.Next(b.Count);
                    b.RemoveRange(p, b.Count - p);
                    ops.Add($"truncate@{p}");
                    break;
                }
                case 5:
                {
                    int from = r.Next(b.Count), len = Math.Min(RunLength(), b.Count - from), to = Pos();
                    b.InsertRange(to, b.GetRange(from, len));
                    ops.Add($"dup{len}from{from}@{to}");
                    break;
                }
                case 6:
                {
                    int from = r.Next(b.Count), to = Pos(), len = Math.Min(RunLength(), Math.Min(b.Count - from, b.Count - to));
                    var chunk = b.GetRange(from, len);
                    for (int i = 0; i < len; i++) b[to + i] = chunk[i];
                    ops.Add($"copy{len}from{from}@{to}");
                    break;
                }
                case 7 when others is { Count: > 0 }:
                {
                    var other = others[r.Next(others.Count)];
                    int p = Pos(), q = r.Next(other.Length + 1);
                    b.RemoveRange(p, b.Count - p);
                    b.AddRange(other.AsSpan(q).ToArray());
                    ops.Add($"splice@{p}+other[{q}..]");
                    break;
                }
                case 8:
                case 9:
                case 10:
                {
                    int width = r.Next(7) switch { < 3 => 2, < 6 => 4, _ => 8 };
                    int p = Pos();
                    if (p + width > b.Count) p = Math.Max(0, b.Count - width);
                    if (p + width > b.Count) break;
                    ulong v = Boundary[r.Next(Boundary.Length)];
                    if (r.Next(6) == 0) v = unchecked(v - 1 + (ulong)r.Next(3)); // a neighbour
                    bool big = r.Next(2) == 0;
                    Span<byte> bytes = stackalloc byte[8];
                    if (big) BinaryPrimitives.WriteUInt64BigEndian(bytes, v);
                    else BinaryPrimitives.WriteUInt64LittleEndian(bytes, v);
                    var w = big ? bytes[(8 - width)..] : bytes[..width];
                    for (int i = 0; i < width; i++) b[p + i] = w[i];
                    ops.Add($"int{width * 8}{(big ? "be" : "le")}=0x{(width == 8 ? v : v & ((1UL << (8 * width)) - 1)):x}@{p}");
                    break;
                }
                default:
                {
                    // Swap two chunks' contents.
                    int len = Math.Min(r.Next(1, 33), b.Count / 2), p = r.Next(b.Count - len + 1), q = r.Next(b.Count - len + 1);
                    var x = b.GetRange(p, len);
                    var y = b.GetRange(q, len);
                    for (int i = 0; i < len; i++) b[q + i] = x[i];
                    for (int i = 0; i < len; i++) b[p + i] = y[i];
                    ops.Add($"swap{len}@{p},{q}");
                    break;
                }
            }
        }
        return (b.ToArray(), string.Join("; ", ops));
    }

    /// <summary>Numbers substituted for a number token.</summary>
    public static readonly string[] Numbers =
    [
        "-1", "0", "1", "-0", "2", "3", "1e308", "-1e308", "1e309", "NaN", "nan", "Infinity", "-Infinity", "inf", "∞",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "65535", "65536", "46341",
        "16384", "16385", "100000", "1000000", "16777216", "100000000", "1073741824", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "18446744073709551615", "99999999999999999999999999999",
        "1e-320", "5e-324", "0.5", "1.5", "3.0", "-0.5", "0x10", "1_000", "1e3", "00012", "+5", "1,5", "1.", ".5", "1e", "--1",
    ];

    /// <summary>The most telling of <see cref="Numbers"/>, drawn half the time.</summary>
    static readonly string[] Boundaries = ["-1", "0", "1", "2147483647", "2147483648", "-2147483648", "4294967295", "65536", "1e308", "NaN", "-Infinity"];

    static readonly string[] Unicode =
    [
        "é", "\u00A0", "\u2028", "\0", "\uFFFD", "\uFEFF", "１", "٣", "\uD800", "\uDC00", "𝟏", "ß", "\u202E", "−", "\u200B", "\t", "\r\n", "漢",
    ];

    static readonly string[] Words = ["True", "False", "None", "true", "false", "null", "NaN", "Infinity", "undefined", "''", "\"\"", "[]", "{}", "()"];

    static readonly string[] Brackets = ["(", ")", "[", "]", "{", "}"];

    static readonly string[] Separators = [",", ":", ";", "/", "\\", " ", "'", "\"", ",,", "=", "-", ".", "e", "L"];

    [GeneratedRegex(@"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z_0-9]*|'[^']*'|""[^""]*""|\s+|.", RegexOptions.Singleline)]
    private static partial Regex TokenRegex();

    static bool IsNumber(string t) => t.Length > 0 && (char.IsAsciiDigit(t[0]) || (t[0] == '-' && t.Length > 1 && char.IsAsciiDigit(t[1])));

    /// <summary>One to three token-level edits of <paramref name="text"/>.</summary>
    public static (string Text, string Description) MutateText(Random r, string text)
    {
        var tokens = TokenRegex().Matches(text).Select(m => m.Value).ToList();
        var ops = new List<string>();
        int rounds = r.Next(10) switch { < 5 => 1, < 8 => 2, _ => 3 };
        for (int k = 0; k < rounds; k++)
        {
            if (tokens.Count == 0) tokens.Add("");
            var numbers = Enumerable.Range(0, tokens.Count).Where(i => IsNumber(tokens[i])).ToList();
            var brackets = Enumerable.Range(0, tokens.Count).Where(i => Brackets.Contains(tokens[i])).ToList();
            var strings = Enumerable.Range(0, tokens.Count).Where(i => tokens[i].Length >= 2 && tokens[i][0] is '\'' or '"').ToList();
            int op = r.Next(16);
            // Numbers are where most of the interest is: bias towards them when there are some.
            if (op >= 13 && numbers.Count > 0) op = r.Next(3);
            switch (op)
            {
                case 0 when numbers.Count > 0:
                {
                    int i = numbers[r.Next(numbers.Count)];
                    var v = r.Next(2) == 0 ? Numbers[r.Next(Numbers.Length)] : Boundaries[r.Next(Boundaries.Length)];
                    ops.Add($"num#{i}:{tokens[i]}->{v}");
                    tokens[i] = v;
                    break;
                }
                case 1 when numbers.Count > 0:
                {
                    var v = Numbers[r.Next(Numbers.Length)];
                    foreach (var i in numbers) tokens[i] = v;
                    ops.Add($"allnums->{v}");
                    break;
                }
                case 2 when numbers.Count > 0:
                {
                    int i = numbers[r.Next(numbers.Count)];
                    string v = r.Next(3) switch
                    {
                        0 => tokens[i].StartsWith('-') ? tokens[i][1..] : "-" + tokens[i],
                        1 => tokens[i] + new string('0', r.Next(1, 25)),
                        _ => tokens[i] + "." + r.Next(1000).ToString(CultureInfo.InvariantCulture),
                    };
                    ops.Add($"num#{i}:{tokens[i]}->{v}");
                    tokens[i] = v;
                    break;
                }
                case 3 when brackets.Count > 0:
                {
                    int i = brackets[r.Next(brackets.Count)];
                    ops.Add($"drop'{tokens[i]}'#{i}");
                    tokens.RemoveAt(i);
                    break;
                }
                case 4 when brackets.Count > 0:
                {
                    int i = brackets[r.Next(brackets.Count)], n = r.Next(4) == 0 ? r.Next(2, 200) : 1;
                    ops.Add($"dup'{tokens[i]}'x{n}#{i}");
                    tokens.InsertRange(i, Enumerable.Repeat(tokens[i], n));
                    break;
                }
                case 5:
                {
                    int i = r.Next(tokens.Count + 1);
                    var v = Brackets[r.Next(Brackets.Length)];
                    ops.Add($"insert'{v}'#{i}");
                    tokens.Insert(i, v);
                    break;
                }
                case 6:
                {
                    int i = r.Next(tokens.Count);
                    ops.Add($"delete#{i}");
                    tokens.RemoveAt(i);
                    break;
                }
                case 7:
                {
                    int i = r.Next(tokens.Count), n = r.Next(4) == 0 ? r.Next(2, 100) : 1;
                    ops.Add($"dup#{i}x{n}");
                    tokens.InsertRange(i, Enumerable.Repeat(tokens[i], n));
                    break;
                }
                case 8:
                {
                    int i = r.Next(tokens.Count + 1);
                    var v = Unicode[r.Next(Unicode.Length)];
                    ops.Add($"unicode U+{(int)v[0]:X4}#{i}");
                    tokens.Insert(i, v);
                    break;
                }
                case 9:
                {
                    int i = r.Next(tokens.Count);
                    var v = Words[r.Next(Words.Length)];
                    ops.Add($"word#{i}->{v}");
                    tokens[i] = v;
                    break;
                }
                case 10 when strings.Count > 0:
                {
                    int i = strings[r.Next(strings.Count)];
                    char q = tokens[i][0];
                    string body = r.Next(5) switch
                    {
                        0 => "",
                        1 => new string('A', r.Next(100, 5000)),
                        2 => Unicode[r.Next(Unicode.Length)],
                        3 => "\\" + q,
                        _ => tokens[i][1..^1] + tokens[i][1..^1],
                    };
                    ops.Add($"str#{i}->len{body.Length}");
                    tokens[i] = q + body + q;
                    break;
                }
                case 11:
                {
                    int i = r.Next(tokens.Count), j = r.Next(tokens.Count);
                    (tokens[i], tokens[j]) = (tokens[j], tokens[i]);
                    ops.Add($"swap#{i},#{j}");
                    break;
                }
                case 12:
                {
                    int i = r.Next(tokens.Count + 1);
                    var v = Separators[r.Next(Separators.Length)];
                    ops.Add($"sep'{v}'#{i}");
                    tokens.Insert(i, v);
                    break;
                }
                default:
                {
                    int keep = r.Next(tokens.Count);
                    ops.Add($"truncate#{keep}");
                    tokens.RemoveRange(keep, tokens.Count - keep);
                    break;
                }
            }
        }
        return (string.Concat(tokens), string.Join("; ", ops));
    }

    /// <summary>A text mutation most of the time, a byte-level one on its UTF-8 otherwise.</summary>
    public static (string Text, string Description) MutateTextOrBytes(Random r, string text)
    {
        if (r.Next(4) != 0) return MutateText(r, text);
        var (bytes, d) = Mutate(r, Encoding.UTF8.GetBytes(text));
        return (Encoding.UTF8.GetString(bytes), "bytes: " + d);
    }
}
