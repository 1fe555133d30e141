using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
    /// Online softmax over six rows of a score tile with n valid keys, in base 2: max[r] becomes
    /// the running max of score·log₂e, the scores become p = 2^(score·log₂e − max[r]) (zero past
    /// n), sums[r] (16 partial sums per row) becomes alpha[r]·sums[r] + Σ p, where alpha[r] =
    /// 2^(previous max − new max) is also what the rows' output accumulated so far must be scaled by.
    /// This is exp(score − max) up to the rounding of max·log₂e, a factor common to the whole
    /// row that the final division by the sum cancels; score·log₂e − max is one fused multiply-add.
    /// </summary>
    public static void OnlineSoftmax(float* s, int ldS, int n, float* max, float* sums, float* alpha)
    {
        int full = n / Chunk * Chunk;
        var tail = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n - full)).AsSingle();
        var negInf = Vector512.Create(float.NegativeInfinity);
        var log2E = Vector512.Create(Log2E);
        for (int r = 0; r < Rows; r++)
        {
            float* row = s + r * ldS;
            var m = negInf;
            for (int j = 0; j < full; j += Chunk) m = Vector512.MaxNative(m, Vector512.Load(row + j));
            if (full < n) m = Vector512.MaxNative(m, Vector512.ConditionalSelect(tail, Vector512.Load(row + full), negInf));

            // Rounding x·log₂e is monotonic, so the max of the rounded values is the rounded max.
            float previous = max[r], current = Math.Max(previous, HorizontalMax(m) * Log2E);
            float a = float.IsNegativeInfinity(previous) ? 0 : Exp2(Vector512.Create(previous - current)).ToScalar();
            var shift = Vector512.Create(-current);
            var sum = Vector512.Load(sums + r * Chunk) * a;
            for (int j = 0; j < full; j += Chunk)
            {
                var p = Exp2(Vector512.FusedMultiplyAdd(Vector512.Load(row + j), log2E, shift));
                p.Store(row + j);
                sum += p;
            }
            if (full < n)
            {
                var p = Exp2(Vector512.FusedMultiplyAdd(Vector512.Load(row + full), log2E, shift)) & tail;
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

    // 2^t for t ≤ 0 (a little above 0 at most): t = n + f with n = round(t), f in [−½, ½] exact,
    // 2^f by its Taylor series Σ (f·ln2)^k / k! to k = 7 (truncation 0.35⁸/8! ≈ 5e-9 relative,
    // under a tenth of an ulp), and the product with 2^n by vscalefps, which goes to 0 smoothly
    // far below the row's max instead of needing a clamp. Without AVX-512, 2^n is built in the
    // exponent bits, n clamped where that would leave the normal range.
    const float Log2E = 1.44269504f;
    const float C1 = 0.693147182f, C2 = 0.240226507f, C3 = 0.0555041097f, C4 = 0.00961812865f,
        C5 = 0.00133335579f, C6 = 0.000154035297f, C7 = 1.52527336e-05f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Exp2(Vector512<float> t)
    {
        var n = Vector512.Round(t);
        var f = t - n;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(C7), f, Vector512.Create(C6));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C1));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512<float>.One);
        if (Avx512F.IsSupported) return Avx512F.Scale(p, n);
        var pow2 = (Vector512.ConvertToInt32Native(Vector512.Max(n, Vector512.Create(-127f))) + Vector512.Create(127)) << 23;
        return p * pow2.AsSingle();
    }

    /// <summary>
    /// dst[0..width) = Σ_c q[c]·table[c, 0..width) for a table packed [d][ld] (width a multiple
    /// of 16): the q·RelH or q·RelW terms of one query row, 16 keys per vector.
    /// </summary>
    public static void TableDots(float* q, int d, float* table, int ld, int width, float* dst)
    {
        int x = 0;
        // Four vectors of keys at a time (a global block's 64-key rows): one broadcast of q[c] feeds four chains.
        for (; x + 4 * Chunk <= width; x += 4 * Chunk)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* t = table + x;
            for (int c = 0; c < d; c++, t += ld)
            {
                var qc = Vector512.Create(q[c]);
                a0 = Vector512.FusedMultiplyAdd(qc, Vector512.Load(t), a0);
                a1 = Vector512.FusedMultiplyAdd(qc, Vector512.Load(t + Chunk), a1);
                a2 = Vector512.FusedMultiplyAdd(qc, Vector512.Load(t + 2 * Chunk), a2);
                a3 = Vector512.FusedMultiplyAdd(qc, Vector512.Load(t + 3 * Chunk), a3);
            }
            a0.Store(dst + x); a1.Store(dst + x + Chunk); a2.Store(dst + x + 2 * Chunk); a3.Store(dst + x + 3 * Chunk);
        }
        for (; x < width; x += Chunk)
        {
            // Four chains over c, so that the FMA latency is hidden when width is one vector (an encoder window).
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* t = table + x;
            int c = 0;
            for (; c + 4 <= d; c += 4, t += 4 * ld)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c]), Vector512.Load(t), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c + 1]), Vector512.Load(t + ld), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c + 2]), Vector512.Load(t + 2 * ld), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c + 3]), Vector512.Load(t + 3 * ld), a3);
            }
            for (; c < d; c++, t += ld) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(q[c]), Vector512.Load(t), a0);
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
