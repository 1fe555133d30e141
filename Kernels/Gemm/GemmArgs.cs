using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Algorithms;

namespace SamEngine.Kernels;

/// <summary>
/// What an ILGPU GEMM kernel needs besides its buffers. Transposes and batch broadcast are
/// folded into strides, so one kernel serves every layout: A(i,k) = a[batch·ABatch + i·ARow + k·ACol],
/// B(k,j) = b[batch·BBatch + k·BRow + j·BCol].
/// </summary>
internal struct GemmArgs
{
    public int M, N, K;
    public int ARow, ACol, BRow, BCol;
    public long ABatch, BBatch;
    public float Alpha;
    public int HasBias, Activation, HasResidual;

    public static GemmArgs Of(GemmShape s, float alpha, bool hasBias, Activation act, bool hasResidual) => new()
    {
        M = s.M, N = s.N, K = s.K,
        ARow = s.TransA ? 1 : s.K, ACol = s.TransA ? s.M : 1,
        BRow = s.TransB ? 1 : s.N, BCol = s.TransB ? s.K : 1,
        ABatch = s.BatchA ? (long)s.M * s.K : 0,
        BBatch = s.BatchB ? (long)s.K * s.N : 0,
        Alpha = alpha,
        HasBias = hasBias ? 1 : 0,
        Activation = (int)act,
        HasResidual = hasResidual ? 1 : 0,
    };

    /// <summary>
    /// Writes one finished output: act(alpha·sum + bias[j]) + residual. The residual is read by
    /// the same thread just before the write, which is what lets it alias C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ArrayView<float> c, ArrayView<float> bias, ArrayView<float> residual, GemmArgs p, long o, int j, float sum)
    {
        float v = p.Alpha * sum;
        if (p.HasBias != 0) v += bias[j];
        if (p.Activation == (int)Kernels.Activation.Gelu) v = GeluMath.Gelu(v);
        else if (p.Activation == (int)Kernels.Activation.Relu) v = XMath.Max(v, 0f);
        if (p.HasResidual != 0) v += residual[o];
        c[o] = v;
    }
}
