namespace SamEngine;

/// <summary>How far a long operation is: <see cref="Done"/> of <see cref="Total"/> steps of <see cref="Stage"/>.</summary>
/// <param name="Stage">"encoder" (steps: the patch embedding and each transformer block) or "amg" (steps: point prompts decoded, over all crops).</param>
/// <param name="Done">Steps finished.</param>
/// <param name="Total">Steps in all.</param>
public readonly record struct SamProgress(string Stage, int Done, int Total)
{
    /// <summary><see cref="Done"/> / <see cref="Total"/>, from 0 to 1.</summary>
    public double Fraction => Total == 0 ? 1 : (double)Done / Total;
}
