using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Kernels;

/// <summary>
/// Softmax steps lane-wise across rows: each lane is its own softmax, the rows its terms. The fused
/// decoder attentions keep their scores so (token→image: lanes are query rows, rows tokens;
/// image→token: lanes are tokens, rows a head's keys), which makes a softmax plain vector
/// arithmetic with no horizontal reductions. Rows are n floats, n a multiple of 16 (AVX-512) or 8.
/// </summary>
static unsafe class SoftmaxLanes
{
    /// <summary>max[0..n) = max(max, row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Max(float* row, float* max, int n)
    {
        if (Vector512.IsHardwareAccelerated)
            for (int x = 0; x < n; x += 16) Vector512.Max(Vector512.Load(max + x), Vector512.Load(row + x)).Store(max + x);
        else
            for (int x = 0; x < n; x += 8) Vector256.Max(Vector256.Load(max + x), Vector256.Load(row + x)).Store(max + x);
    }

    /// <summary>row = exp(row − max) in place; sum += row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExpAdd(float* row, float* max, float* sum, int n)
    {
        if (Vector512.IsHardwareAccelerated)
            for (int x = 0; x < n; x += 16)
            {
                var p = VectorExp.Exp(Vector512.Load(row + x) - Vector512.Load(max + x));
                p.Store(row + x);
                (Vector512.Load(sum + x) + p).Store(sum + x);
            }
        else
            for (int x = 0; x < n; x += 8)
            {
                var p = VectorExp.Exp(Vector256.Load(row + x) - Vector256.Load(max + x));
                p.Store(row + x);
                (Vector256.Load(sum + x) + p).Store(sum + x);
            }
    }

    /// <summary>row = row / sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Divide(float* row, float* sum, int n)
    {
        if (Vector512.IsHardwareAccelerated)
            for (int x = 0; x < n; x += 16) (Vector512.Load(row + x) / Vector512.Load(sum + x)).Store(row + x);
        else
            for (int x = 0; x < n; x += 8) (Vector256.Load(row + x) / Vector256.Load(sum + x)).Store(row + x);
    }
}
