using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Kernels;

/// <summary>
/// The inner loop of the native GEMM: an MR×NR block of C held in vector registers while
/// packed A (MR values per k) and packed B (NR values per k) stream by. Each k is two vector
/// loads of B, MR broadcasts of A and 2·MR fused multiply-adds. With AVX-512 the block is
/// 12×32, 24 of the 32 zmm registers (twice the work per byte of B of a 6×32 block, which
/// measured the same in L1 but loses out once B streams from L2); with AVX2 it is 6×16, 12 of
/// the 16 ymm registers.
/// Hot methods are compiled fully optimised on first call: tier-0 vector code is ~8× slower,
/// and the first forward pass should not wait for tiering.
/// </summary>
static unsafe class GemmMicroKernel
{
    public static readonly bool Wide = Vector512.IsHardwareAccelerated;
    public static readonly int MR = Wide ? 12 : 6;
    public static readonly int NR = Wide ? 32 : 16;

    /// <summary>tile[MR×NR] = Σₖ a[k·MR + i] · b[k·NR + j] over kc steps.</summary>
    public static void Run(int kc, float* a, float* b, float* tile) => RunInto(kc, a, MR, b, NR, tile, null, NR, 0, first: true, last: false, default);

    /// <summary>
    /// Whether RunInto can finish a tile: unless an activation comes before a
    /// residual (which may alias C, so must be read before C is written).
    /// </summary>
    public static bool CanStoreDirect(bool residual, in Epilogue e) => e.Activation == Activation.None || !residual;

    /// <summary>
    /// The micro-kernel's accumulators straight into a whole MR×NR tile of C (ldc apart, at column
    /// col), as <see cref="Store"/> would write them from a scratch tile: the first slab writes,
    /// later ones add, the last applies alpha, bias and residual, and the activation (if any) in
    /// a second pass over the tile, which is still in L1.
    /// </summary>
    public static void RunInto(int kc, float* a, float* b, float* c, float* residual, int ldc, int col, bool first, bool last, in Epilogue e) =>
        RunInto(kc, a, MR, b, NR, c, residual, ldc, col, first, last, e);

    /// <summary>
    /// <see cref="RunInto(int, float*, float*, float*, float*, int, int, bool, bool, in Epilogue)"/> on operands
    /// that need no packing: step k reads the MR values of A at a + k·lda and the NR of B at b + k·ldb. A fused op
    /// whose A is stored k-major (a transposed product, lda its row length) or whose B is row-major (ldb its row
    /// length) multiplies them where they lie; lda = MR and ldb = NR are the packed panels.
    /// </summary>
    public static void RunInto(int kc, float* a, int lda, float* b, int ldb, float* c, float* residual, int ldc, int col, bool first, bool last, in Epilogue e)
    {
        if (Wide) RunInto512(kc, a, lda, b, ldb, c, residual, ldc, col, first, last, e);
        else RunInto256(kc, a, lda, b, ldb, c, residual, ldc, col, first, last, e);
    }

    /// <summary>
    /// The 12×32 AVX-512 kernel into C. Skipping the scratch tile and the call took 1.5–3% off the
    /// encoder's GEMMs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RunInto512(int kc, float* a, int lda, float* b, int ldb, float* c, float* residual, int ldc, int col, bool first, bool last, in Epilogue e)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, c100 = default, c101 = default, c110 = default, c111 = default;
        for (nint k = 0, n = kc, sa = lda, sb = ldb; k < n; k++, a += sa, b += sb)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a[8]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a[9]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(a[10]); c100 = Vector512.FusedMultiplyAdd(x, b0, c100); c101 = Vector512.FusedMultiplyAdd(x, b1, c101);
            x = Vector512.Create(a[11]); c110 = Vector512.FusedMultiplyAdd(x, b0, c110); c111 = Vector512.FusedMultiplyAdd(x, b1, c111);
        }
        float* d = c, r = residual, bias = e.Bias == null ? null : e.Bias + col;
        bool hasBias = bias != null, addResidual = residual != null && e.Activation == Activation.None;
        Finish(c00, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c01, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c10, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c11, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c20, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c21, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c30, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c31, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c40, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c41, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c50, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c51, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c60, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c61, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c70, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c71, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c80, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c81, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c90, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c91, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c100, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c101, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c110, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c111, d + 16, r + 16, bias + 16, first, last, e.Alpha, hasBias, addResidual);
        if (last && e.Activation != Activation.None)
            for (int i = 0; i < 12; i++, c += ldc)
                for (int j = 0; j < 32; j += 16)
                {
                    var v = Vector512.Load(c + j);
                    v = e.Activation == Activation.Relu ? Vector512.Max(v, Vector512<float>.Zero) : GeluMath.Gelu(v);
                    v.Store(c + j);
                }
    }

    /// <summary>One vector of a tile into C: the first slab writes, later ones add; the last applies alpha, bias and (without an activation) the residual.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Finish(Vector512<float> v, float* d, float* r, float* bias, bool first, bool last, float alpha, bool hasBias, bool addResidual)
    {
        if (!first) v += Vector512.Load(d);
        if (last)
        {
            if (alpha != 1f) v *= alpha;
            if (hasBias) v += Vector512.Load(bias);
            if (addResidual) v += Vector512.Load(r);
        }
        v.Store(d);
    }

    /// <summary>
    /// The 6×16 AVX2 kernel into C: the decoder's short products (K of 56 to 256) spend a large
    /// share of each tile on its store, and a scratch tile doubled that.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RunInto256(int kc, float* a, int lda, float* b, int ldb, float* c, float* residual, int ldc, int col, bool first, bool last, in Epilogue e)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (nint k = 0, n = kc, sa = lda, sb = ldb; k < n; k++, a += sa, b += sb)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }
        float* d = c, r = residual, bias = e.Bias == null ? null : e.Bias + col;
        bool hasBias = bias != null, addResidual = residual != null && e.Activation == Activation.None;
        Finish(c00, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c01, d + 8, r + 8, bias + 8, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c10, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c11, d + 8, r + 8, bias + 8, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c20, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c21, d + 8, r + 8, bias + 8, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c30, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c31, d + 8, r + 8, bias + 8, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c40, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c41, d + 8, r + 8, bias + 8, first, last, e.Alpha, hasBias, addResidual);
        d += ldc; r += ldc;
        Finish(c50, d, r, bias, first, last, e.Alpha, hasBias, addResidual); Finish(c51, d + 8, r + 8, bias + 8, first, last, e.Alpha, hasBias, addResidual);
        if (last && e.Activation != Activation.None)
            for (int i = 0; i < 6; i++, c += ldc)
                for (int j = 0; j < 16; j += 8)
                {
                    var v = Vector256.Load(c + j);
                    v = e.Activation == Activation.Relu ? Vector256.Max(v, Vector256<float>.Zero) : GeluMath.Gelu(v);
                    v.Store(c + j);
                }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Finish(Vector256<float> v, float* d, float* r, float* bias, bool first, bool last, float alpha, bool hasBias, bool addResidual)
    {
        if (!first) v += Vector256.Load(d);
        if (last)
        {
            if (alpha != 1f) v *= alpha;
            if (hasBias) v += Vector256.Load(bias);
            if (addResidual) v += Vector256.Load(r);
        }
        v.Store(d);
    }

    /// <summary>What the last KC slab applies on the way out: alpha, bias (indexed by C's column), activation.</summary>
    public readonly struct Epilogue(float alpha, float* bias, Activation activation)
    {
        public readonly float Alpha = alpha;
        public readonly float* Bias = bias;
        public readonly Activation Activation = activation;
    }

    /// <summary>
    /// Moves rows×cols of a tile into C (ldc apart, starting at column col). The first KC slab
    /// writes, later ones add; the last one finishes: act(alpha·sum + bias) + residual, where the
    /// residual row is read just before the C row is written. Sixteen lanes at a time where the
    /// machine has them: the GELU epilogue is ~50 vector operations per vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Store(float* tile, float* c, float* residual, int ldc, int rows, int cols, int col, bool first, bool last, in Epilogue e)
    {
        int nr = NR;
        for (int i = 0; i < rows; i++)
        {
            float* t = tile + i * nr, d = c + (long)i * ldc, r = residual == null ? null : residual + (long)i * ldc;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; j + 16 <= cols; j += 16)
                {
                    var v = Vector512.Load(t + j);
                    if (!first) v += Vector512.Load(d + j);
                    if (last)
                    {
                        // Multiplying by 1 is exact, so skipping it changes nothing.
                        if (e.Alpha != 1f) v *= e.Alpha;
                        if (e.Bias != null) v += Vector512.Load(e.Bias + col + j);
                        if (e.Activation == Activation.Relu) v = Vector512.Max(v, Vector512<float>.Zero);
                        else if (e.Activation == Activation.Gelu) v = GeluMath.Gelu(v);
                        if (r != null) v += Vector512.Load(r + j);
                    }
                    v.Store(d + j);
                }
            for (; j + 8 <= cols; j += 8)
            {
                var v = Vector256.Load(t + j);
                if (!first) v += Vector256.Load(d + j);
                if (last)
                {
                    if (e.Alpha != 1f) v *= e.Alpha;
                    if (e.Bias != null) v += Vector256.Load(e.Bias + col + j);
                    if (e.Activation == Activation.Relu) v = Vector256.Max(v, Vector256<float>.Zero);
                    else if (e.Activation == Activation.Gelu) v = GeluMath.Gelu(v);
                    if (r != null) v += Vector256.Load(r + j);
                }
                v.Store(d + j);
            }
            for (; j < cols; j++)
            {
                float v = first ? t[j] : d[j] + t[j];
                if (last)
                {
                    v *= e.Alpha;
                    if (e.Bias != null) v += e.Bias[col + j];
                    if (e.Activation == Activation.Relu) v = MathF.Max(v, 0);
                    else if (e.Activation == Activation.Gelu) v = GeluMath.Gelu(v);
                    if (r != null) v += r[j];
                }
                d[j] = v;
            }
        }
    }
}
