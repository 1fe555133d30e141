using System.Globalization;
using System.Text.RegularExpressions;

namespace SamEngine.Weights;

/// <summary>
/// Reads a state dict's shapes for a configuration's inference: every error is a
/// <see cref="CheckpointException"/> naming the tensor and starting with <paramref name="what"/>
/// ("not a SAM state dict", "not a MobileSAM image encoder").
/// </summary>
internal sealed class ShapeReader(StateDict sd, string what)
{
    /// <summary>The shape of tensor <paramref name="name"/>, which must exist with <paramref name="rank"/> dimensions.</summary>
    public int[] Shape(string name, int rank)
    {
        if (!sd.Tensors.TryGetValue(name, out var t)) throw new CheckpointException(sd.Path, $"{what}: no tensor '{name}'");
        if (t.Shape.Length != rank) throw Misshaped(name, t.Shape, $"{rank} dimensions");
        return t.Shape;
    }

    /// <summary>
    /// How many numbered blocks or layers a pattern with one index group matches: blocks are
    /// numbered from 0, so one past the highest (gaps show up as missing keys).
    /// </summary>
    public int Count(string pattern)
    {
        var re = new Regex(pattern);
        int n = 0;
        foreach (var k in sd.Tensors.Keys)
        {
            var m = re.Match(k);
            if (m.Success) n = Math.Max(n, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1);
        }
        return n;
    }

    public int Positive(int v, string name) => v > 0 ? v : throw Misshaped(name, sd.Tensors[name].Shape, "non-zero sizes");

    public CheckpointException Misshaped(string name, int[] shape, string expected) =>
        new(sd.Path, $"{what}: '{name}' has shape {SamConfig.Dims(shape)}, expected {expected}");
}
