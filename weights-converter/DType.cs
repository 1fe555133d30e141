using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SamEngine.Weights;

/// <summary>
/// Element type of a stored tensor. Weights are floats; I64 is what BatchNorm's
/// num_batches_tracked counters are stored as (MobileSAM's checkpoints hold them), kept as stored
/// and never read as weights.
/// </summary>
internal enum DType
{
    F32,
    F16,
    BF16,
    I64,
}

/// <summary>Sizes, names and exact conversions of the stored element types (all little-endian on disk).</summary>
internal static class DTypes
{
    public static int Size(this DType t) => t switch { DType.F32 => 4, DType.I64 => 8, _ => 2 };

    public static bool IsFloat(this DType t) => t != DType.I64;

    /// <summary>The safetensors spelling: F32, F16, BF16, I64.</summary>
    public static string SafetensorsName(this DType t) => t switch { DType.F32 => "F32", DType.F16 => "F16", DType.I64 => "I64", _ => "BF16" };

    /// <summary>The PyTorch spelling: float32, float16, bfloat16, int64.</summary>
    public static string TorchName(this DType t) => t switch { DType.F32 => "float32", DType.F16 => "float16", DType.I64 => "int64", _ => "bfloat16" };

    /// <summary>fp32, fp16 or bf16 (the CLI's --dtype values).</summary>
    public static bool TryParse(string s, out DType t)
    {
        switch (s.ToLowerInvariant())
        {
            case "fp32": case "f32": case "float32": t = DType.F32; return true;
            case "fp16": case "f16": case "float16": case "half": t = DType.F16; return true;
            case "bf16": case "bfloat16": t = DType.BF16; return true;
            default: t = DType.F32; return false;
        }
    }

    /// <summary>Widens little-endian stored values to float32 (exact for every type).</summary>
    public static void ToFloat32(ReadOnlySpan<byte> src, DType t, Span<float> dst)
    {
        if (!t.IsFloat()) throw new InvalidOperationException($"{t.TorchName()} values are not weights");
        switch (t)
        {
            case DType.F32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case DType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                break;
            default:
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
                break;
        }
    }

    /// <summary>Narrows float32 values to little-endian stored values, rounding to nearest even.</summary>
    public static void FromFloat32(ReadOnlySpan<float> src, DType t, Span<byte> dst)
    {
        if (!t.IsFloat()) throw new InvalidOperationException($"weights cannot be stored as {t.TorchName()}");
        switch (t)
        {
            case DType.F32:
                if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(src).CopyTo(dst);
                else for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
                break;
            case DType.F16:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]);
                break;
            default:
                for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], ToBFloat16(src[i]));
                break;
        }
    }

    static ushort ToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        // A NaN must stay a NaN: rounding could carry its payload into the exponent.
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>How many stored values are NaN or ±Inf (an all-ones exponent), without widening.</summary>
    public static long CountNonFinite(ReadOnlySpan<byte> src, DType t)
    {
        long n = 0;
        switch (t)
        {
            case DType.I64:
                break;
            case DType.F32:
                for (int i = 0; i + 4 <= src.Length; i += 4)
                    if ((BinaryPrimitives.ReadUInt32LittleEndian(src[i..]) & 0x7F800000u) == 0x7F800000u) n++;
                break;
            case DType.F16:
                for (int i = 0; i + 2 <= src.Length; i += 2)
                    if ((BinaryPrimitives.ReadUInt16LittleEndian(src[i..]) & 0x7C00) == 0x7C00) n++;
                break;
            default:
                for (int i = 0; i + 2 <= src.Length; i += 2)
                    if ((BinaryPrimitives.ReadUInt16LittleEndian(src[i..]) & 0x7F80) == 0x7F80) n++;
                break;
        }
        return n;
    }
}
