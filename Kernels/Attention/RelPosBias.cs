using SamEngine.Engine;

namespace SamEngine.Kernels;

/// <summary>
/// SAM's decomposed relative position bias for a query grid qh×qw attending to a key grid kh×kw:
/// bias[(i,j),(k,l)] = q[(i,j)]·RelH[i,k] + q[(i,j)]·RelW[j,l] with the UNSCALED q (the reference's
/// add_decomposed_rel_pos). RelH [qh, kh, d] and RelW [qw, kw, d] are get_rel_pos's output, shared
/// by every batch item and head.
/// </summary>
internal sealed record RelPosBias(Tensor RelH, Tensor RelW, int Qh, int Qw, int Kh, int Kw);
