namespace SamEngine.FileFormats;

/// <summary>
/// Decodes a JPEG to the RGB bytes cv2.imread(path) + BGR→RGB gives: libjpeg-turbo's entropy
/// decoding (Huffman and arithmetic, sequential and progressive), its islow IDCT, fancy upsampling
/// and colour conversion, OpenCV's CMYK formula and its EXIF orientation.
/// </summary>
static class JpegDecoder
{
    /// <exception cref="JpegException">Corrupt or unsupported; its message says which and why.</exception>
    public static RgbImage Decode(byte[] data, long maxPixels)
    {
        var reader = new JpegReader(data, maxPixels);
        var frame = reader.Read();
        var image = new RgbImage(frame.Height, frame.Width, JpegOutput.ToRgb(frame, reader.ColorSpace));
        return ExifOrientation.Apply(image, ExifOrientation.FromJpegApp1(reader.FirstApp1.Span));
    }
}
