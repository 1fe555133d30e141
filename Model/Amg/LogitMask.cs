using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SamEngine.Model;

/// <summary>Binary masks from logits: logit &gt; threshold (NaN gives false), 32 pixels per step.</summary>
internal static class LogitMask
{
    public static void Threshold(ReadOnlySpan<float> logits, float threshold, Span<bool> mask)
    {
        if (mask.Length != logits.Length) throw new ArgumentException($"{logits.Length} logits for a mask of {mask.Length} pixels");
        var bytes = MemoryMarshal.AsBytes(mask);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float src = ref MemoryMarshal.GetReference(logits);
            ref byte dst = ref MemoryMarshal.GetReference(bytes);
            var t = Vector256.Create(threshold);
            var one = Vector256.Create((byte)1);
            for (; i <= logits.Length - 32; i += 32)
            {
                // Comparisons give all-ones lanes; narrowing int → short → byte keeps them in order.
                var a = Vector256.GreaterThan(Vector256.LoadUnsafe(ref src, (nuint)i), t).AsInt32();
                var b = Vector256.GreaterThan(Vector256.LoadUnsafe(ref src, (nuint)i + 8), t).AsInt32();
                var c = Vector256.GreaterThan(Vector256.LoadUnsafe(ref src, (nuint)i + 16), t).AsInt32();
                var d = Vector256.GreaterThan(Vector256.LoadUnsafe(ref src, (nuint)i + 24), t).AsInt32();
                var packed = Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).AsByte();
                (packed & one).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < logits.Length; i++) mask[i] = logits[i] > threshold;
    }
}
