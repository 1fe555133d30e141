using System.Runtime.Intrinsics.X86;

namespace SamEngine.Tests.FileFormats;

/// <summary>
/// The islow inverse DCT: within one level of the float64 IDCT on realistic blocks (the accuracy
/// libjpeg's islow is built for), and the AVX2 path equal to the scalar one bit for bit, hostile
/// coefficients included (where the 16-bit wrapping and saturation decide the result).
/// </summary>
public class IslowIdctTests
{
    /// <summary>T.81 A.3.3: s(y,x) = 1/4 Σ C(u)C(v) S(v,u) cos((2x+1)uπ/16) cos((2y+1)vπ/16), level-shifted by 128.</summary>
    static double[] Reference(short[] coef, ushort[] quant)
    {
        var s = new double[64];
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
            {
                double sum = 0;
                for (int v = 0; v < 8; v++)
                    for (int u = 0; u < 8; u++)
                        sum += (u == 0 ? Math.Sqrt(0.5) : 1) * (v == 0 ? Math.Sqrt(0.5) : 1) * coef[v * 8 + u] * quant[v * 8 + u]
                               * Math.Cos((2 * x + 1) * u * Math.PI / 16) * Math.Cos((2 * y + 1) * v * Math.PI / 16);
                s[y * 8 + x] = sum / 4 + 128;
            }
        return s;
    }

    /// <summary>Blocks as an encoder makes them: the forward DCT of random samples, quantised.</summary>
    static (short[] Coef, ushort[] Quant) RealisticBlock(Random rng)
    {
        var samples = new double[64];
        double level = rng.Next(256), spread = rng.Next(1, 128);
        for (int i = 0; i < 64; i++) samples[i] = Math.Clamp(level + spread * (rng.NextDouble() - 0.5), 0, 255) - 128;
        var quant = new ushort[64];
        for (int i = 0; i < 64; i++) quant[i] = (ushort)rng.Next(1, 1 + rng.Next(1, 40));
        var coef = new short[64];
        for (int v = 0; v < 8; v++)
            for (int u = 0; u < 8; u++)
            {
                double sum = 0;
                for (int y = 0; y < 8; y++)
                    for (int x = 0; x < 8; x++)
                        sum += samples[y * 8 + x] * Math.Cos((2 * x + 1) * u * Math.PI / 16) * Math.Cos((2 * y + 1) * v * Math.PI / 16);
                sum *= (u == 0 ? Math.Sqrt(0.5) : 1) * (v == 0 ? Math.Sqrt(0.5) : 1) / 4;
                coef[v * 8 + u] = (short)Math.Round(sum / quant[v * 8 + u]);
            }
        return (coef, quant);
    }

    [Fact]
    public void WithinOneLevelOfTheFloat64Idct()
    {
        var rng = new Random(11);
        int worst = 0;
        for (int n = 0; n < 2000; n++)
        {
            var (coef, quant) = RealisticBlock(rng);
            var reference = Reference(coef, quant);
            var output = new byte[64];
            IslowIdct.TransformScalar(coef, quant, output, 8);
            for (int i = 0; i < 64; i++)
                worst = Math.Max(worst, (int)Math.Abs(output[i] - Math.Clamp(Math.Round(reference[i]), 0, 255)));
        }
        Assert.InRange(worst, 0, 1);
    }

    [SkippableFact]
    public void Avx2EqualsScalarBitForBit()
    {
        Skip.IfNot(Avx2.IsSupported, "no AVX2 on this machine");
        var rng = new Random(5);
        for (int n = 0; n < 20000; n++)
        {
            short[] coef;
            ushort[] quant;
            if (n % 4 == 0) (coef, quant) = RealisticBlock(rng);
            else
            {
                // Hostile: any 16-bit values, sparse or dense, DC-only blocks for the shortcut.
                coef = new short[64];
                quant = new ushort[64];
                int nonzero = n % 4 == 1 ? 1 : rng.Next(1, 65);
                for (int k = 0; k < nonzero; k++) coef[n % 4 == 1 ? rng.Next(8) : rng.Next(64)] = (short)rng.Next(short.MinValue, short.MaxValue + 1);
                for (int i = 0; i < 64; i++) quant[i] = (ushort)(n % 8 < 4 ? rng.Next(1, 256) : rng.Next(65536));
            }
            var scalar = new byte[8 * 13];
            var vector = new byte[8 * 13];
            IslowIdct.TransformScalar(coef, quant, scalar, 13);
            IslowIdct.TransformAvx2(coef, quant, vector, 13);
            Assert.Equal(scalar, vector);
        }
    }
}
