using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>SAM's decomposed relative position bias: get_rel_pos (with linear interpolation of the stored table when its length is not 2·max(q,k)−1) and add_decomposed_rel_pos.</summary>
public static class RelativePosition
{
    /// <summary>table [L, C] → rel [qSize, kSize, C] (get_rel_pos).</summary>
    public static void GetRelPos(Tensor table, int qSize, int kSize, Tensor rel) => throw new NotImplementedException();

    /// <summary>attn [B, qh·qw, kh·kw] += q·Rh (per key row) + q·Rw (per key column); q [B, qh·qw, C] unscaled, relH [qh, kh, C], relW [qw, kw, C].</summary>
    public static void AddDecomposed(Tensor attn, Tensor q, Tensor relH, Tensor relW, int qh, int qw, int kh, int kw) => throw new NotImplementedException();
}
