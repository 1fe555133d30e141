using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Kernels;

/// <summary>
/// Register-blocked micro-kernels of the native attention path, over six query rows at a time.
/// Scores: S[r, 0..16·chunks) = Qs[r]·Kᵀ (+ S, the rel bias, added after the dot product as the
/// reference adds it to the finished q·kᵀ), with Kᵀ packed in chunks of 16 keys laid out [d][16],
/// so each step of the reduction is one broadcast of q and one vector load per chunk. Values:
/// O[r] = alpha[r]·O[r] + Σ_j P[r, j]·V[j], the tile's sum accumulated from zero and folded in
/// at the end, so that over many key tiles rounding error grows with the tile plus the number
/// of tiles, not with every key. The wide forms keep 6×4 Vector512 accumulators
/// (24 of the 32 zmm registers); the narrow forms do one 16-wide column as two Vector256 and serve
/// both the leftover chunks and machines without AVX-512.
/// </summary>
static unsafe class AttentionTiles
{
    public const int Rows = 6;
    public const int Chunk = 16;

    /// <summary>
    /// Six rows × 64 keys (four Kᵀ chunks). With a bias (rows ldBias apart), S += bias, and with
    /// shift too (one value per row, ldShift apart), S += bias + shift: the rel bias, as the
    /// bias tile holds it, straight from a row of relW terms and a relH term.
    /// </summary>
    [SkipLocalsInit]
    public static void Scores4(float* q, int d, float* kt, float* s, int ldS, float* bias, int ldBias, float* shift, int ldShift)
    {
        Vector512<float> s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33, s40, s41, s42, s43, s50, s51, s52, s53;
        s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = s40 = s41 = s42 = s43 = s50 = s51 = s52 = s53 = Vector512<float>.Zero;
        float* k0 = kt, k1 = kt + Chunk * d, k2 = kt + 2 * Chunk * d, k3 = kt + 3 * Chunk * d;
        for (int c = 0; c < d; c++)
        {
            var b0 = Vector512.Load(k0 + Chunk * c); var b1 = Vector512.Load(k1 + Chunk * c);
            var b2 = Vector512.Load(k2 + Chunk * c); var b3 = Vector512.Load(k3 + Chunk * c);
            Vector512<float> a;
            a = Vector512.Create(q[c]);
            s00 = Vector512.FusedMultiplyAdd(a, b0, s00); s01 = Vector512.FusedMultiplyAdd(a, b1, s01);
            s02 = Vector512.FusedMultiplyAdd(a, b2, s02); s03 = Vector512.FusedMultiplyAdd(a, b3, s03);
            a = Vector512.Create(q[d + c]);
            s10 = Vector512.FusedMultiplyAdd(a, b0, s10); s11 = Vector512.FusedMultiplyAdd(a, b1, s11);
            s12 = Vector512.FusedMultiplyAdd(a, b2, s12); s13 = Vector512.FusedMultiplyAdd(a, b3, s13);
            a = Vector512.Create(q[2 * d + c]);
            s20 = Vector512.FusedMultiplyAdd(a, b0, s20); s21 = Vector512.FusedMultiplyAdd(a, b1, s21);
            s22 = Vector512.FusedMultiplyAdd(a, b2, s22); s23 = Vector512.FusedMultiplyAdd(a, b3, s23);
            a = Vector512.Create(q[3 * d + c]);
            s30 = Vector512.FusedMultiplyAdd(a, b0, s30); s31 = Vector512.FusedMultiplyAdd(a, b1, s31);
            s32 = Vector512.FusedMultiplyAdd(a, b2, s32); s33 = Vector512.FusedMultiplyAdd(a, b3, s33);
            a = Vector512.Create(q[4 * d + c]);
            s40 = Vector512.FusedMultiplyAdd(a, b0, s40); s41 = Vector512.FusedMultiplyAdd(a, b1, s41);
            s42 = Vector512.FusedMultiplyAdd(a, b2, s42); s43 = Vector512.FusedMultiplyAdd(a, b3, s43);
            a = Vector512.Create(q[5 * d + c]);
            s50 = Vector512.FusedMultiplyAdd(a, b0, s50); s51 = Vector512.FusedMultiplyAdd(a, b1, s51);
            s52 = Vector512.FusedMultiplyAdd(a, b2, s52); s53 = Vector512.FusedMultiplyAdd(a, b3, s53);
        }
        if (bias != null)
        {
            bool shifted = shift != null;
            float* w0 = bias;
            var h0 = shifted ? Vector512.Create(shift[0 * ldShift]) : default;
            s00 += Bias(w0, h0, shifted); s01 += Bias(w0 + 16, h0, shifted); s02 += Bias(w0 + 32, h0, shifted); s03 += Bias(w0 + 48, h0, shifted);
            float* w1 = bias + ldBias;
            var h1 = shifted ? Vector512.Create(shift[1 * ldShift]) : default;
            s10 += Bias(w1, h1, shifted); s11 += Bias(w1 + 16, h1, shifted); s12 += Bias(w1 + 32, h1, shifted); s13 += Bias(w1 + 48, h1, shifted);
            float* w2 = bias + 2 * ldBias;
            var h2 = shifted ? Vector512.Create(shift[2 * ldShift]) : default;
            s20 += Bias(w2, h2, shifted); s21 += Bias(w2 + 16, h2, shifted); s22 += Bias(w2 + 32, h2, shifted); s23 += Bias(w2 + 48, h2, shifted);
            float* w3 = bias + 3 * ldBias;
            var h3 = shifted ? Vector512.Create(shift[3 * ldShift]) : default;
            s30 += Bias(w3, h3, shifted); s31 += Bias(w3 + 16, h3, shifted); s32 += Bias(w3 + 32, h3, shifted); s33 += Bias(w3 + 48, h3, shifted);
            float* w4 = bias + 4 * ldBias;
            var h4 = shifted ? Vector512.Create(shift[4 * ldShift]) : default;
            s40 += Bias(w4, h4, shifted); s41 += Bias(w4 + 16, h4, shifted); s42 += Bias(w4 + 32, h4, shifted); s43 += Bias(w4 + 48, h4, shifted);
            float* w5 = bias + 5 * ldBias;
            var h5 = shifted ? Vector512.Create(shift[5 * ldShift]) : default;
            s50 += Bias(w5, h5, shifted); s51 += Bias(w5 + 16, h5, shifted); s52 += Bias(w5 + 32, h5, shifted); s53 += Bias(w5 + 48, h5, shifted);
        }

        s00.Store(s); s01.Store(s + 16); s02.Store(s + 32); s03.Store(s + 48);
        s10.Store(s + ldS); s11.Store(s + ldS + 16); s12.Store(s + ldS + 32); s13.Store(s + ldS + 48);
        s20.Store(s + 2 * ldS); s21.Store(s + 2 * ldS + 16); s22.Store(s + 2 * ldS + 32); s23.Store(s + 2 * ldS + 48);
        s30.Store(s + 3 * ldS); s31.Store(s + 3 * ldS + 16); s32.Store(s + 3 * ldS + 32); s33.Store(s + 3 * ldS + 48);
        s40.Store(s + 4 * ldS); s41.Store(s + 4 * ldS + 16); s42.Store(s + 4 * ldS + 32); s43.Store(s + 4 * ldS + 48);
        s50.Store(s + 5 * ldS); s51.Store(s + 5 * ldS + 16); s52.Store(s + 5 * ldS + 32); s53.Store(s + 5 * ldS + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Bias(float* bias, Vector512<float> shift, bool shifted) => shifted ? Vector512.Load(bias) + shift : Vector512.Load(bias);

    /// <summary>Six rows × 16 keys (one Kᵀ chunk) as two Vector256 per row.</summary>
    [SkipLocalsInit]
    public static void Scores1(float* q, int d, float* kt, float* s, int ldS, bool addBias)
    {
        Vector256<float> s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51;
        s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = s40 = s41 = s50 = s51 = Vector256<float>.Zero;
        for (int c = 0; c < d; c++)
        {
            var b0 = Vector256.Load(kt + Chunk * c); var b1 = Vector256.Load(kt + Chunk * c + 8);
            Vector256<float> a;
            a = Vector256.Create(q[c]); s00 = Vector256.FusedMultiplyAdd(a, b0, s00); s01 = Vector256.FusedMultiplyAdd(a, b1, s01);
            a = Vector256.Create(q[d + c]); s10 = Vector256.FusedMultiplyAdd(a, b0, s10); s11 = Vector256.FusedMultiplyAdd(a, b1, s11);
            a = Vector256.Create(q[2 * d + c]); s20 = Vector256.FusedMultiplyAdd(a, b0, s20); s21 = Vector256.FusedMultiplyAdd(a, b1, s21);
            a = Vector256.Create(q[3 * d + c]); s30 = Vector256.FusedMultiplyAdd(a, b0, s30); s31 = Vector256.FusedMultiplyAdd(a, b1, s31);
            a = Vector256.Create(q[4 * d + c]); s40 = Vector256.FusedMultiplyAdd(a, b0, s40); s41 = Vector256.FusedMultiplyAdd(a, b1, s41);
            a = Vector256.Create(q[5 * d + c]); s50 = Vector256.FusedMultiplyAdd(a, b0, s50); s51 = Vector256.FusedMultiplyAdd(a, b1, s51);
        }
        if (addBias)
        {
            s00 += Vector256.Load(s); s01 += Vector256.Load(s + 8);
            s10 += Vector256.Load(s + ldS); s11 += Vector256.Load(s + ldS + 8);
            s20 += Vector256.Load(s + 2 * ldS); s21 += Vector256.Load(s + 2 * ldS + 8);
            s30 += Vector256.Load(s + 3 * ldS); s31 += Vector256.Load(s + 3 * ldS + 8);
            s40 += Vector256.Load(s + 4 * ldS); s41 += Vector256.Load(s + 4 * ldS + 8);
            s50 += Vector256.Load(s + 5 * ldS); s51 += Vector256.Load(s + 5 * ldS + 8);
        }
        s00.Store(s); s01.Store(s + 8);
        s10.Store(s + ldS); s11.Store(s + ldS + 8);
        s20.Store(s + 2 * ldS); s21.Store(s + 2 * ldS + 8);
        s30.Store(s + 3 * ldS); s31.Store(s + 3 * ldS + 8);
        s40.Store(s + 4 * ldS); s41.Store(s + 4 * ldS + 8);
        s50.Store(s + 5 * ldS); s51.Store(s + 5 * ldS + 8);
    }

    /// <summary>Six rows × 64 output features: O = alpha·O + P[:, 0..n)·V[0..n).</summary>
    [SkipLocalsInit]
    public static void Values4(float* p, int ldP, int n, float* v, int ldV, float* o, int ldO, float* alpha)
    {
        Vector512<float> o00, o01, o02, o03, o10, o11, o12, o13, o20, o21, o22, o23, o30, o31, o32, o33, o40, o41, o42, o43, o50, o51, o52, o53;
        o00 = o01 = o02 = o03 = o10 = o11 = o12 = o13 = o20 = o21 = o22 = o23 = o30 = o31 = o32 = o33 = o40 = o41 = o42 = o43 = o50 = o51 = o52 = o53 = Vector512<float>.Zero;
        for (int j = 0; j < n; j++)
        {
            float* vj = v + (long)j * ldV;
            var b0 = Vector512.Load(vj); var b1 = Vector512.Load(vj + 16); var b2 = Vector512.Load(vj + 32); var b3 = Vector512.Load(vj + 48);
            Vector512<float> a;
            a = Vector512.Create(p[j]);
            o00 = Vector512.FusedMultiplyAdd(a, b0, o00); o01 = Vector512.FusedMultiplyAdd(a, b1, o01);
            o02 = Vector512.FusedMultiplyAdd(a, b2, o02); o03 = Vector512.FusedMultiplyAdd(a, b3, o03);
            a = Vector512.Create(p[ldP + j]);
            o10 = Vector512.FusedMultiplyAdd(a, b0, o10); o11 = Vector512.FusedMultiplyAdd(a, b1, o11);
            o12 = Vector512.FusedMultiplyAdd(a, b2, o12); o13 = Vector512.FusedMultiplyAdd(a, b3, o13);
            a = Vector512.Create(p[2 * ldP + j]);
            o20 = Vector512.FusedMultiplyAdd(a, b0, o20); o21 = Vector512.FusedMultiplyAdd(a, b1, o21);
            o22 = Vector512.FusedMultiplyAdd(a, b2, o22); o23 = Vector512.FusedMultiplyAdd(a, b3, o23);
            a = Vector512.Create(p[3 * ldP + j]);
            o30 = Vector512.FusedMultiplyAdd(a, b0, o30); o31 = Vector512.FusedMultiplyAdd(a, b1, o31);
            o32 = Vector512.FusedMultiplyAdd(a, b2, o32); o33 = Vector512.FusedMultiplyAdd(a, b3, o33);
            a = Vector512.Create(p[4 * ldP + j]);
            o40 = Vector512.FusedMultiplyAdd(a, b0, o40); o41 = Vector512.FusedMultiplyAdd(a, b1, o41);
            o42 = Vector512.FusedMultiplyAdd(a, b2, o42); o43 = Vector512.FusedMultiplyAdd(a, b3, o43);
            a = Vector512.Create(p[5 * ldP + j]);
            o50 = Vector512.FusedMultiplyAdd(a, b0, o50); o51 = Vector512.FusedMultiplyAdd(a, b1, o51);
            o52 = Vector512.FusedMultiplyAdd(a, b2, o52); o53 = Vector512.FusedMultiplyAdd(a, b3, o53);
        }
        Fold4(o, alpha[0], o00, o01, o02, o03);
        Fold4(o + ldO, alpha[1], o10, o11, o12, o13);
        Fold4(o + 2 * ldO, alpha[2], o20, o21, o22, o23);
        Fold4(o + 3 * ldO, alpha[3], o30, o31, o32, o33);
        Fold4(o + 4 * ldO, alpha[4], o40, o41, o42, o43);
        Fold4(o + 5 * ldO, alpha[5], o50, o51, o52, o53);
    }

    /// <summary>o[0..64) = alpha·o + tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Fold4(float* o, float alpha, Vector512<float> t0, Vector512<float> t1, Vector512<float> t2, Vector512<float> t3)
    {
        var a = Vector512.Create(alpha);
        Vector512.FusedMultiplyAdd(Vector512.Load(o), a, t0).Store(o);
        Vector512.FusedMultiplyAdd(Vector512.Load(o + 16), a, t1).Store(o + 16);
        Vector512.FusedMultiplyAdd(Vector512.Load(o + 32), a, t2).Store(o + 32);
        Vector512.FusedMultiplyAdd(Vector512.Load(o + 48), a, t3).Store(o + 48);
    }

    /// <summary>Six rows × 16 output features as two Vector256 per row.</summary>
    [SkipLocalsInit]
    public static void Values1(float* p, int ldP, int n, float* v, int ldV, float* o, int ldO, float* alpha)
    {
        Vector256<float> o00, o01, o10, o11, o20, o21, o30, o31, o40, o41, o50, o51;
        o00 = o01 = o10 = o11 = o20 = o21 = o30 = o31 = o40 = o41 = o50 = o51 = Vector256<float>.Zero;
        for (int j = 0; j < n; j++)
        {
            float* vj = v + (long)j * ldV;
            var b0 = Vector256.Load(vj); var b1 = Vector256.Load(vj + 8);
            Vector256<float> a;
            a = Vector256.Create(p[j]); o00 = Vector256.FusedMultiplyAdd(a, b0, o00); o01 = Vector256.FusedMultiplyAdd(a, b1, o01);
            a = Vector256.Create(p[ldP + j]); o10 = Vector256.FusedMultiplyAdd(a, b0, o10); o11 = Vector256.FusedMultiplyAdd(a, b1, o11);
            a = Vector256.Create(p[2 * ldP + j]); o20 = Vector256.FusedMultiplyAdd(a, b0, o20); o21 = Vector256.FusedMultiplyAdd(a, b1, o21);
            a = Vector256.Create(p[3 * ldP + j]); o30 = Vector256.FusedMultiplyAdd(a, b0, o30); o31 = Vector256.FusedMultiplyAdd(a, b1, o31);
            a = Vector256.Create(p[4 * ldP + j]); o40 = Vector256.FusedMultiplyAdd(a, b0, o40); o41 = Vector256.FusedMultiplyAdd(a, b1, o41);
            a = Vector256.Create(p[5 * ldP + j]); o50 = Vector256.FusedMultiplyAdd(a, b0, o50); o51 = Vector256.FusedMultiplyAdd(a, b1, o51);
        }
        Fold1(o, alpha[0], o00, o01);
        Fold1(o + ldO, alpha[1], o10, o11);
        Fold1(o + 2 * ldO, alpha[2], o20, o21);
        Fold1(o + 3 * ldO, alpha[3], o30, o31);
        Fold1(o + 4 * ldO, alpha[4], o40, o41);
        Fold1(o + 5 * ldO, alpha[5], o50, o51);
    }

    /// <summary>o[0..16) = alpha·o + tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Fold1(float* o, float alpha, Vector256<float> t0, Vector256<float> t1)
    {
        var a = Vector256.Create(alpha);
        Vector256.FusedMultiplyAdd(Vector256.Load(o), a, t0).Store(o);
        Vector256.FusedMultiplyAdd(Vector256.Load(o + 8), a, t1).Store(o + 8);
    }

    /// <summary>
    /// Up to six query rows (ldq apart) against one rel-pos table one vector wide, packed [d][ld]:
    /// dst[r] = Σ_c q[r, c]·table[c, 0..16), rows ldDst apart, summed as even and odd c apart.
    /// Missing rows repeat row 0 and are not stored.
    /// </summary>
    [SkipLocalsInit]
    public static void TableRows(float* q, long ldq, int rows, int d, float* table, int ld, float* dst, long ldDst)
    {
        float* q0 = q, q1 = q + (rows > 1 ? ldq : 0), q2 = q + (rows > 2 ? 2 * ldq : 0);
        float* q3 = q + (rows > 3 ? 3 * ldq : 0), q4 = q + (rows > 4 ? 4 * ldq : 0), q5 = q + (rows > 5 ? 5 * ldq : 0);
        Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default;
        Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default;
        int c = 0;
        for (; c + 2 <= d; c += 2, table += 2 * ld)
        {
            var t = Vector512.Load(table);
            e0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[c]), t, e0);
            e1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[c]), t, e1);
            e2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[c]), t, e2);
            e3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[c]), t, e3);
            e4 = Vector512.FusedMultiplyAdd(Vector512.Create(q4[c]), t, e4);
            e5 = Vector512.FusedMultiplyAdd(Vector512.Create(q5[c]), t, e5);
            t = Vector512.Load(table + ld);
            o0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[c + 1]), t, o0);
            o1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[c + 1]), t, o1);
            o2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[c + 1]), t, o2);
            o3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[c + 1]), t, o3);
            o4 = Vector512.FusedMultiplyAdd(Vector512.Create(q4[c + 1]), t, o4);
            o5 = Vector512.FusedMultiplyAdd(Vector512.Create(q5[c + 1]), t, o5);
        }
        if (c < d)
        {
            var t = Vector512.Load(table);
            e0 = Vector512.FusedMultiplyAdd(Vector512.Create(q0[c]), t, e0);
            e1 = Vector512.FusedMultiplyAdd(Vector512.Create(q1[c]), t, e1);
            e2 = Vector512.FusedMultiplyAdd(Vector512.Create(q2[c]), t, e2);
            e3 = Vector512.FusedMultiplyAdd(Vector512.Create(q3[c]), t, e3);
            e4 = Vector512.FusedMultiplyAdd(Vector512.Create(q4[c]), t, e4);
            e5 = Vector512.FusedMultiplyAdd(Vector512.Create(q5[c]), t, e5);
        }
        (e0 + o0).Store(dst);
        if (rows > 1) (e1 + o1).Store(dst + ldDst);
        if (rows > 2) (e2 + o2).Store(dst + 2 * ldDst);
        if (rows > 3) (e3 + o3).Store(dst + 3 * ldDst);
        if (rows > 4) (e4 + o4).Store(dst + 4 * ldDst);
        if (rows > 5) (e5 + o5).Store(dst + 5 * ldDst);
    }
}
