using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SamEngine.Kernels.AttentionTiles;

namespace SamEngine.Kernels;

/// <summary>
/// The per-row work of the native attention path around the micro-kernels: the online softmax
/// of a score tile, the rel-pos terms of a query row and the rel bias they spread over a tile.
/// Written with Vector512 (on machines without AVX-512 .NET runs it as two Vector256 halves).
/// </summary>
static unsafe class AttentionRows
{
    /// <summary>
    /// Online softmax over six rows of a score tile with n valid keys: max[r] becomes the running
    /// max, the scores become exp(score − max[r]) (zero past n), sums[r] (16 partial sums per row)
    /// becomes alpha[r]·sums[r] + Σ p, where alpha[r] = exp(previous max − new max) is also what
    /// the rows' output accumulated so far must be scaled by.
    /// </summary>
    public static void OnlineSoftmax(float* s, int ldS, int n, float* max, float* sums, float* alpha)
    {
        int full = n / Chunk * Chunk;
        var tail = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n - full)).AsSingle();
        var negInf = Vector512.Create(float.NegativeInfinity);
        for (int r = 0; r < Rows; r++)
        {
            float* row = s + r * ldS;
            var m = negInf;
            for (int j = 0; j < full; j += Chunk) m = Vector512.MaxNative(m, Vector512.Load(row + j));
            if (full < n) m = Vector512.MaxNative(m, Vector512.ConditionalSelect(tail, Vector512.Load(row + full), negInf));

            float previous = max[r], current = Math.Max(previous, HorizontalMax(m));
            float a = float.IsNegativeInfinity(previous) ? 0 : MathF.Exp(previous - current);
            var shift = Vector512.Create(current);
            var sum = Vector512.Load(sums + r * Chunk) * a;
            for (int j = 0; j < full; j += Chunk)
            {
                var p = Exp(Vector512.Load(row + j) - shift);
                p.Store(row + j);
                sum += p;
            }
            if (full < n)
            {
                var p = Exp(Vector512.Load(row + full) - shift) & tail;
                p.Store(row + full);
                sum += p;
            }
            sum.Store(sums + r * Chunk);
            max[r] = current;
            alpha[r] = a;
        }
    }

    static float HorizontalMax(Vector512<float> v)
    {
        var h = Vector256.MaxNative(v.GetLower(), v.GetUpper());
        var q = Vector128.MaxNative(h.GetLower(), h.GetUpper());
        return Math.Max(Math.Max(q[0], q[1]), Math.Max(q[2], q[3]));
    }

    // exp(x) for x ≤ 0: x = n·ln2 + r with ln2 split in two (Cody–Waite) so r is exact, a degree-7
    // polynomial for e^r on |r| ≤ ln2/2 (the Cephes expf coefficients, ~1 ulp), and 2^n built in
    // the exponent bits. Inputs below −87.3 give ~1e-38 instead of underflowing to 0: harmless
    // next to the row's largest probability, which is 1.
    const float Log2E = 1.44269504f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f, Lowest = -87.33654f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.MaxNative(Vector512.Create(Lowest), x);
        var n = Vector512.Round(x * Log2E);
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var y = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(8.3334519073e-3f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(4.1665795894e-2f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(1.6666665459e-1f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(5.0000001201e-1f));
        y = Vector512.FusedMultiplyAdd(y, r * r, r) + Vector512<float>.One;
        var pow2 = (Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23;
        return y * pow2.AsSingle();
    }

    /// <summary>
    /// dst[0..width) = Σ_c q[c]·table[c, 0..width) for a table packed [d][width] (width a multiple
    /// of 16): the q·RelH or q·RelW terms of one query row, 16 keys per vector.
    /// </summary>
    public static void TableDots(float* q, int d, float* table, int width, float* dst)
    {
        for (int x = 0; x < width; x += Chunk)
        {
            // Four chains, so that the FMA latency is hidden when width is one vector (an encoder window).
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* t = table + x;
            int c = 0;
            for (; c + 4 <= d; c += 4, t += 4 * width)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c]), Vector512.Load(t), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c + 1]), Vector512.Load(t + width), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c + 2]), Vector512.Load(t + 2 * width), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c + 3]), Vector512.Load(t + 3 * width), a3);
            }
            for (; c < d; c++, t += width) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c]), Vector512.Load(t), a0);
            ((a0 + a1) + (a2 + a3)).Store(dst + x);
        }
    }

    /// <summary>
    /// Six rows of the rel bias of the key tile [j0, j0 + n) (whole key rows of width kw): key
    /// (kk, ll) gets relH[r, kk] + relW[r, ll]. Each key row is written in whole 16-wide stores
    /// from the padded relW row; what spills past a key row is overwritten by the next one, and
    /// past the tile lands in the score tile's spare chunk.
    /// </summary>
    public static void BiasTile(float* relH, int ldH, float* relW, int ldW, int kw, int j0, int n, float* s, int ldS)
    {
        int kk0 = j0 / kw, kk1 = (j0 + n) / kw;
        for (int r = 0; r < Rows; r++)
        {
            float* row = s + r * ldS - j0, w = relW + r * ldW;
            for (int kk = kk0; kk < kk1; kk++)
            {
                var h = Vector512.Create(relH[r * ldH + kk]);
                float* dst = row + kk * kw;
                for (int x = 0; x < kw; x += Chunk) (Vector512.Load(w + x) + h).Store(dst + x);
            }
        }
    }
}
