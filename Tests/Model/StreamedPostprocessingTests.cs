using SamEngine.Engine;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>
/// The streamed postprocessing (AMG's per candidate, the predictor's in bands of rows) against
/// the plane-at-a-time chain it replaces (MaskPostprocessing's two bilinear resizes into a full
/// float plane, then the stability score and the threshold over that plane): the same logits,
/// masks and float32 stability scores bit for bit, on geometries that upscale, downscale, leave
/// vector tails and crop.
/// </summary>
public class StreamedPostprocessingTests
{
    /// <summary>
    /// Smooth logits as a trained decoder's (a few broad waves spanning ±12) with plateaus at
    /// exactly 0 and ±1, so that upscaled values land on and next to the thresholds, and a NaN.
    /// </summary>
    static float[] Logits(int masks, int h, int w, int seed)
    {
        var rng = new Random(seed);
        var x = new float[masks * h * w];
        for (int m = 0; m < masks; m++)
        {
            double fx = rng.NextDouble() * 0.3, fy = rng.NextDouble() * 0.3, phase = rng.NextDouble() * 6;
            for (int y = 0; y < h; y++)
                for (int c = 0; c < w; c++)
                {
                    double v = 12 * Math.Sin(fx * c + phase) * Math.Cos(fy * y) + rng.NextDouble() - 0.5;
                    x[(m * h + y) * w + c] = Math.Abs(v) < 0.7 ? 0f : Math.Abs(v - 1) < 0.5 ? 1f : Math.Abs(v + 1) < 0.5 ? -1f : (float)v;
                }
        }
        x[x.Length / 3] = float.NaN;
        return x;
    }

    [Theory]
    [InlineData(64, 16, 64, 64, 64, 64)]      // square image at the encoder's size
    [InlineData(64, 16, 43, 64, 75, 112)]     // a photo, upscaled
    [InlineData(64, 16, 64, 47, 37, 27)]      // a small crop, downscaled
    [InlineData(1024, 256, 683, 1024, 1200, 1800)]
    [InlineData(1024, 256, 1024, 746, 552, 402)]
    [InlineData(1024, 256, 1024, 1024, 1024, 1024)]
    [InlineData(1024, 256, 1024, 1024, 133, 1031)]
    public void MatchesThePlaneAtATimeChain(int imageSize, int lowRes, int inputH, int inputW, int cropH, int cropW)
    {
        const int masks = 3;
        var device = Devices.Open("cpu");
        var logits = Logits(masks, lowRes, lowRes, imageSize + cropW);
        var post = new MaskPostprocessing(imageSize, (inputH, inputW), (cropH, cropW));
        var streamed = new StreamedPostprocessing(imageSize, (inputH, inputW), (cropH, cropW), (lowRes, lowRes));
        using var low = Tensor.FromArray(device, logits, masks, lowRes * lowRes);
        using var plane = Tensor.Empty(device, cropH, cropW);
        var mask = new bool[cropH * cropW];
        foreach (var (threshold, offset) in new[] { (0f, 1.0), (0.25f, 0.5), (-1f, 0.0) })
            for (int m = 0; m < masks; m++)
            {
                post.Forward(low.Slice(m, 1), lowRes, lowRes, plane);
                float expected = StabilityScore.Compute(plane.Span, cropH, cropW, threshold, offset);
                LogitMask.Threshold(plane.Span, threshold, mask);

                float stability = streamed.Run(logits, m * lowRes * lowRes, threshold, offset);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(stability));
                Assert.True(mask.AsSpan().SequenceEqual(streamed.Mask), $"mask {m} at threshold {threshold} differs in {mask.Zip(streamed.Mask).Count(p => p.First != p.Second)} pixels");
                Assert.Contains(true, mask);
                Assert.Contains(false, mask);
            }
    }

    [Theory]
    [InlineData(64, 16, 43, 64, 75, 112, 1)]
    [InlineData(64, 16, 64, 47, 37, 27, 3)]
    [InlineData(1024, 256, 683, 1024, 1200, 1800, 3)]
    [InlineData(1024, 256, 1024, 1024, 1024, 1024, 1)]
    [InlineData(1024, 256, 1024, 746, 552, 402, 12)]
    public void PredictionsInBandsMatchThePlaneAtATimeChain(int imageSize, int lowRes, int inputH, int inputW, int h, int w, int masks)
    {
        var device = Devices.Open("cpu");
        var logits = Logits(masks, lowRes, lowRes, imageSize + w);
        var post = new MaskPostprocessing(imageSize, (inputH, inputW), (h, w));
        using var low = Tensor.FromArray(device, logits, masks, lowRes * lowRes);
        using var plane = Tensor.Empty(device, h, w);
        var upscaled = new float[masks * h * w];
        var thresholded = new bool[masks * h * w];
        StreamedPostprocessing.Predictions(logits, masks, (lowRes, lowRes), imageSize, (inputH, inputW), (h, w), 0.5f, upscaled, null);
        StreamedPostprocessing.Predictions(logits, masks, (lowRes, lowRes), imageSize, (inputH, inputW), (h, w), 0.5f, null, thresholded);
        for (int m = 0; m < masks; m++)
        {
            post.Forward(low.Slice(m, 1), lowRes, lowRes, plane);
            var expected = plane.Span.ToArray();
            var got = upscaled.AsSpan(m * h * w, h * w);
            int differ = 0;
            for (int i = 0; i < expected.Length; i++)
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(got[i])) differ++;
            Assert.True(differ == 0, $"mask {m}: {differ} logits differ");
            var mask = new bool[h * w];
            LogitMask.Threshold(expected, 0.5f, mask);
            Assert.True(mask.AsSpan().SequenceEqual(thresholded.AsSpan(m * h * w, h * w)), $"mask {m} differs");
            Assert.Contains(true, mask);
            Assert.Contains(false, mask);
        }
    }
}
