namespace SamEngine.FileFormats;

/// <summary>What a JPEG's components mean, decided as libjpeg decides it (JFIF and Adobe markers, then component ids).</summary>
enum JpegColorSpace { Grayscale, YCbCr, Rgb, Cmyk, Ycck }

/// <summary>
/// Full-resolution component rows to RGB as cv2.imread gets them: libjpeg-turbo's fixed-point
/// YCbCr→RGB (16-bit tables, jdcolor.c), grey replicated, and for four components libjpeg's CMYK
/// (YCCK first converted to inverted RGB, K kept) followed by OpenCV's CMYK→BGR formula.
/// </summary>
static class JpegColor
{
    const int ScaleBits = 16, Half = 1 << (ScaleBits - 1);

    static readonly int[] CrR = new int[256], CbB = new int[256], CrG = new int[256], CbG = new int[256];

    static JpegColor()
    {
        static int Fix(double x) => (int)(x * (1 << ScaleBits) + 0.5);
        for (int i = 0; i < 256; i++)
        {
            int x = i - 128;
            CrR[i] = (Fix(1.40200) * x + Half) >> ScaleBits;
            CbB[i] = (Fix(1.77200) * x + Half) >> ScaleBits;
            CrG[i] = -Fix(0.71414) * x;
            CbG[i] = -Fix(0.34414) * x + Half;
        }
    }

    /// <param name="rows">Component rows, each at least as long as the output is wide.</param>
    public static void ToRgb(JpegColorSpace space, ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, ReadOnlySpan<byte> c3, Span<byte> rgb)
    {
        int width = rgb.Length / 3;
        switch (space)
        {
            case JpegColorSpace.Grayscale:
                for (int x = 0; x < width; x++) rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = c0[x];
                break;
            case JpegColorSpace.Rgb:
                for (int x = 0; x < width; x++) (rgb[3 * x], rgb[3 * x + 1], rgb[3 * x + 2]) = (c0[x], c1[x], c2[x]);
                break;
            case JpegColorSpace.YCbCr:
                for (int x = 0; x < width; x++)
                {
                    int y = c0[x], cb = c1[x], cr = c2[x];
                    rgb[3 * x] = Clamp(y + CrR[cr]);
                    rgb[3 * x + 1] = Clamp(y + ((CbG[cb] + CrG[cr]) >> ScaleBits));
                    rgb[3 * x + 2] = Clamp(y + CbB[cb]);
                }
                break;
            case JpegColorSpace.Cmyk:
                for (int x = 0; x < width; x++)
                    Cmyk(c0[x], c1[x], c2[x], c3[x], rgb.Slice(3 * x, 3));
                break;
            case JpegColorSpace.Ycck:
                for (int x = 0; x < width; x++)
                {
                    int y = c0[x], cb = c1[x], cr = c2[x];
                    Cmyk(255 - Clamp(y + CrR[cr]), 255 - Clamp(y + ((CbG[cb] + CrG[cr]) >> ScaleBits)), 255 - Clamp(y + CbB[cb]), c3[x], rgb.Slice(3 * x, 3));
                }
                break;
        }
    }

    /// <summary>OpenCV's icvCvt_CMYK2BGR: each of C, M, Y (as Adobe stores them, inverted) scaled by K.</summary>
    static void Cmyk(int c, int m, int y, int k, Span<byte> rgb)
    {
        rgb[0] = (byte)(k - ((255 - c) * k >> 8));
        rgb[1] = (byte)(k - ((255 - m) * k >> 8));
        rgb[2] = (byte)(k - ((255 - y) * k >> 8));
    }

    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);
}
