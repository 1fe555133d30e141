using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>Mask boxes, the crop-edge filter and the stability score against the reference's values.</summary>
public class AmgMaskTests
{
    static bool[] Mask(int h, int w, params (int Y, int X)[] set)
    {
        var m = new bool[h * w];
        foreach (var (y, x) in set) m[y * w + x] = true;
        return m;
    }

    [Fact]
    public void MaskBoxIsInclusive()
    {
        Assert.Equal(new BoxXyxy(2, 1, 5, 3), MaskBoxes.FromMask(Mask(5, 7, (1, 2), (3, 5), (2, 4)), 5, 7));
        Assert.Equal(new BoxXyxy(6, 4, 6, 4), MaskBoxes.FromMask(Mask(5, 7, (4, 6)), 5, 7));
        Assert.Equal(new BoxXyxy(0, 0, 0, 0), MaskBoxes.FromMask(Mask(5, 7), 5, 7));
        Assert.Equal(new BoxXyxy(0, 0, 6, 4), MaskBoxes.FromMask(Enumerable.Repeat(true, 35).ToArray(), 5, 7));
    }

    [Fact]
    public void NearCropEdgeButNotImageEdge()
    {
        var crop = new BoxXyxy(0, 0, 552, 402);
        var image = new BoxXyxy(0, 0, 900, 600);
        // Reference: [False, False, False, True, False, True, True].
        var boxes = new[] { new BoxXyxy(10, 10, 100, 100), new BoxXyxy(0, 0, 50, 50), new BoxXyxy(10, 10, 531, 100), new BoxXyxy(10, 10, 532, 100), new BoxXyxy(0, 0, 0, 0), new BoxXyxy(100, 100, 533, 381), new BoxXyxy(100, 100, 533, 382) };
        Assert.Equal(new[] { false, false, false, true, false, true, true }, boxes.Select(b => MaskBoxes.IsNearCropEdge(b, crop, image)));
        // A crop at the bottom right: its boxes are in its own frame, offset by (348, 198).
        var corner = new BoxXyxy(348, 198, 900, 600);
        Assert.True(MaskBoxes.IsNearCropEdge(new BoxXyxy(0, 0, 10, 10), corner, image));
        Assert.True(MaskBoxes.IsNearCropEdge(new BoxXyxy(21, 20, 100, 100), corner, image));
        Assert.False(MaskBoxes.IsNearCropEdge(new BoxXyxy(21, 21, 551, 401), corner, image));
    }

    [Fact]
    public void StabilityScoreCountsAboveBothThresholds()
    {
        var logits = new float[] { -2f, -1f, -0.5f, 0f, 0.5f, 1f, 1.5f, 3f, 1.0000001f, 0.9999999f, -1.0000001f, -0.9999999f };
        // Reference (torch): 3/9 and 5/7 in float32.
        Assert.Equal(0.3333333432674408, StabilityScore.Compute(logits, 3, 4, 0.0, 1.0));
        Assert.Equal(0.7142857313156128, StabilityScore.Compute(logits, 3, 4, 0.25, 0.5));
        Assert.True(float.IsNaN(StabilityScore.Compute(new float[9].Select(_ => -3f).ToArray(), 3, 3, 0.0, 1.0)));
    }

    [Fact]
    public void StabilityScoreRowCountsWrapIn16Bits()
    {
        // The reference sums each row in int16: a 40000-wide row with 33000 pixels above +1 and
        // all 40000 above −1 counts 33000 − 65536 over 40000 − 65536, giving 1.2741228342056274.
        var row = new float[40000];
        for (int i = 0; i < row.Length; i++) row[i] = i < 33000 ? 5f : 0.5f;
        Assert.Equal(1.2741228342056274, StabilityScore.Compute(row, 1, 40000, 0.0, 1.0));
    }
}
