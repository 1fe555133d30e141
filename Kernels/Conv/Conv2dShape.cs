using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// The validated geometry of one Conv2d call (PyTorch's Ho = ⌊(H + 2p − kh) / s⌋ + 1). Also the
/// ILGPU kernels' parameter block, hence plain fields.
/// </summary>
internal readonly struct Conv2dShape
{
    public readonly int B, Cin, H, W, Cout, Kh, Kw, Stride, Pad, Ho, Wo, HasBias;

    public Conv2dShape(int b, int cin, int h, int w, int cout, int kh, int kw, int stride, int pad, bool hasBias)
    {
        B = b; Cin = cin; H = h; W = w; Cout = cout; Kh = kh; Kw = kw; Stride = stride; Pad = pad;
        Ho = (h + 2 * pad - kh) / stride + 1;
        Wo = (w + 2 * pad - kw) / stride + 1;
        HasBias = hasBias ? 1 : 0;
    }

    /// <summary>The output columns [first, end) whose tap kx reads inside the input row.</summary>
    public (int First, int End) Columns(int kx) => OutputColumns(W, Wo, Stride, Pad, kx);

    /// <summary>
    /// Of an output row wo wide, the columns [first, end) whose tap kx reads inside an input row w
    /// wide under this stride and zero padding (ox·stride − pad + kx in [0, w)).
    /// </summary>
    public static (int First, int End) OutputColumns(int w, int wo, int stride, int pad, int kx)
    {
        int first = Math.Min(wo, Math.Max(0, (pad - kx + stride - 1) / stride));
        int reach = w - 1 + pad - kx;
        return (first, Math.Max(first, reach < 0 ? 0 : Math.Min(reach / stride + 1, wo)));
    }

    /// <summary>Cin·kh·kw: the reduction length of one output.</summary>
    public int K => Cin * Kh * Kw;

    public double Flops => 2.0 * B * Cout * Ho * Wo * K;

    public static Conv2dShape Of(Tensor x, Tensor weight, Tensor? bias, int stride, int padding, Tensor y)
    {
        if (x.Rank != 4 || weight.Rank != 4 || y.Rank != 4)
            throw new ArgumentException($"conv2d: expected x [B, Cin, H, W], weight [Cout, Cin, kh, kw], y [B, Cout, Ho, Wo], got {x.ShapeString}, {weight.ShapeString}, {y.ShapeString}");
        if (stride < 1 || padding < 0) throw new ArgumentException($"conv2d: stride {stride} and padding {padding} must be positive and non-negative");
        if (weight.Shape[1] != x.Shape[1])
            throw new ArgumentException($"conv2d: weight {weight.ShapeString} does not take {x.Shape[1]} input channels of {x.ShapeString}");
        int kh = weight.Shape[2], kw = weight.Shape[3];
        if (kh < 1 || kw < 1 || x.Shape[2] + 2 * padding < kh || x.Shape[3] + 2 * padding < kw)
            throw new ArgumentException($"conv2d: kernel {kh}×{kw} does not fit input {x.ShapeString} padded by {padding}");
        var s = new Conv2dShape(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[0], kh, kw, stride, padding, bias != null);
        int[] expected = [s.B, s.Cout, s.Ho, s.Wo];
        if (!y.Shape.SequenceEqual(expected))
            throw new ArgumentException($"conv2d: output {y.ShapeString} for x {x.ShapeString}, weight {weight.ShapeString}, stride {stride}, padding {padding}; expected {Tensor.ShapeText(expected)}");
        if (bias != null && bias.Length != s.Cout) throw new ArgumentException($"conv2d: bias {bias.ShapeString} is not [{s.Cout}]");
        if (x.Length > int.MaxValue || y.Length > int.MaxValue || weight.Length > int.MaxValue || (long)s.K * s.Ho * s.Wo > int.MaxValue)
            throw new ArgumentException($"conv2d: {x.ShapeString} * {weight.ShapeString} is too large");
        return s;
    }
}
