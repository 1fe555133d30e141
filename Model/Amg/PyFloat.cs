using System.Globalization;
using System.Text;

namespace SamEngine.Model;

/// <summary>
/// Python's text for a float, which the reference's outputs use: str()/repr() give the shortest
/// digits that read back to the same double, in positional notation with at least one decimal
/// ("0.0", "150.75") when the decimal point falls within 16 digits of the first one, else in
/// exponent notation with a signed two-digit exponent ("1e-05", "1e+16"); json.dump writes the
/// same digits but NaN and ±Infinity for the non-finite values str() calls nan and ±inf.
/// </summary>
internal static class PyFloat
{
    public static string Str(double x) =>
        double.IsNaN(x) ? "nan" : double.IsPositiveInfinity(x) ? "inf" : double.IsNegativeInfinity(x) ? "-inf" : Finite(x);

    public static string Json(double x) =>
        double.IsNaN(x) ? "NaN" : double.IsPositiveInfinity(x) ? "Infinity" : double.IsNegativeInfinity(x) ? "-Infinity" : Finite(x);

    static string Finite(double x)
    {
        string sign = double.IsNegative(x) ? "-" : "";
        if (x == 0) return sign + "0.0";
        var (digits, decimalPoint) = ShortestDigits(Math.Abs(x));
        var s = new StringBuilder(sign);
        if (decimalPoint <= -4 || decimalPoint > 16)
        {
            s.Append(digits[0]);
            if (digits.Length > 1) s.Append('.').Append(digits, 1, digits.Length - 1);
            int exponent = decimalPoint - 1;
            s.Append(exponent < 0 ? "e-" : "e+").Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (decimalPoint <= 0) s.Append("0.").Append('0', -decimalPoint).Append(digits);
        else if (decimalPoint >= digits.Length) s.Append(digits).Append('0', decimalPoint - digits.Length).Append(".0");
        else s.Append(digits, 0, decimalPoint).Append('.').Append(digits, decimalPoint, digits.Length - decimalPoint);
        return s.ToString();
    }

    /// <summary>
    /// The shortest round-trip significant digits of a positive finite x (.NET's "R" finds them)
    /// and where the decimal point goes: x = 0.digits × 10^decimalPoint.
    /// </summary>
    static (string Digits, int DecimalPoint) ShortestDigits(double x)
    {
        var r = x.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? r : r[..e];
        int exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int decimalPoint = (dot < 0 ? mantissa.Length : dot) + exponent;
        int leading = 0;
        while (leading < digits.Length - 1 && digits[leading] == '0') leading++;
        digits = digits[leading..].TrimEnd('0');
        return (digits, decimalPoint - leading);
    }
}
