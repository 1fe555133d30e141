using System.Globalization;
using System.Text;

namespace SamEngine.FileFormats;

/// <summary>
/// The subset of Python literal syntax a .npy header uses: a dict of string keys whose values
/// are strings, True/False/None, integers and tuples or lists of these. Tuples and lists become
/// List&lt;object?&gt;, integers long (a trailing 'L' from Python 2 is accepted).
/// </summary>
static class PyLiteral
{
    public static Dictionary<string, object?> ParseDict(string text)
    {
        int pos = 0;
        var value = ParseValue(text, ref pos);
        SkipSpace(text, ref pos);
        if (pos != text.Length) throw new FormatException($"unexpected '{text[pos]}' after the dict");
        return value as Dictionary<string, object?> ?? throw new FormatException("not a dict");
    }

    public static string Show(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        List<object?> l => "[" + string.Join(", ", l.Select(Show)) + "]",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "?",
    };

    static object? ParseValue(string s, ref int pos)
    {
        SkipSpace(s, ref pos);
        if (pos >= s.Length) throw new FormatException("unexpected end");
        char c = s[pos];
        if (c is '\'' or '"') return ParseString(s, ref pos);
        if (c is '(' or '[') return ParseSequence(s, ref pos, c == '(' ? ')' : ']');
        if (c == '{') return ParseDictBody(s, ref pos);
        if (c == '-' || char.IsAsciiDigit(c)) return ParseInt(s, ref pos);
        if (Take(s, ref pos, "True")) return true;
        if (Take(s, ref pos, "False")) return false;
        if (Take(s, ref pos, "None")) return null;
        throw new FormatException($"unexpected '{c}'");
    }

    static Dictionary<string, object?> ParseDictBody(string s, ref int pos)
    {
        var dict = new Dictionary<string, object?>();
        pos++;
        while (true)
        {
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == '}') { pos++; return dict; }
            if (ParseValue(s, ref pos) is not string key) throw new FormatException("dict key is not a string");
            SkipSpace(s, ref pos);
            if (pos >= s.Length || s[pos] != ':') throw new FormatException("expected ':'");
            pos++;
            dict[key] = ParseValue(s, ref pos);
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == ',') { pos++; continue; }
            if (pos < s.Length && s[pos] == '}') { pos++; return dict; }
            throw new FormatException("expected ',' or '}'");
        }
    }

    static List<object?> ParseSequence(string s, ref int pos, char close)
    {
        var items = new List<object?>();
        pos++;
        while (true)
        {
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == close) { pos++; return items; }
            items.Add(ParseValue(s, ref pos));
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == ',') { pos++; continue; }
            if (pos < s.Length && s[pos] == close) { pos++; return items; }
            throw new FormatException($"expected ',' or '{close}'");
        }
    }

    static string ParseString(string s, ref int pos)
    {
        char quote = s[pos++];
        var sb = new StringBuilder();
        while (pos < s.Length && s[pos] != quote)
        {
            if (s[pos] == '\\' && pos + 1 < s.Length) pos++;
            sb.Append(s[pos++]);
        }
        if (pos >= s.Length) throw new FormatException("unterminated string");
        pos++;
        return sb.ToString();
    }

    static long ParseInt(string s, ref int pos)
    {
        int start = pos;
        if (s[pos] == '-') pos++;
        while (pos < s.Length && char.IsAsciiDigit(s[pos])) pos++;
        if (!long.TryParse(s.AsSpan(start, pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"bad integer '{s[start..pos]}'");
        if (pos < s.Length && s[pos] is 'L' or 'l') pos++;
        return v;
    }

    static bool Take(string s, ref int pos, string word)
    {
        if (string.CompareOrdinal(s, pos, word, 0, word.Length) != 0) return false;
        pos += word.Length;
        return true;
    }

    static void SkipSpace(string s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
    }
}
