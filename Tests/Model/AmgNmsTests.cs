using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>Box NMS and PyTorch's sort order; expected values from torch 1.13 / torchvision 0.14 on Linux.</summary>
public class AmgNmsTests
{
    static readonly double[] TiedKeys = { 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 1.0, 0.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 0.0, 1.0, 1.0, 1.0, 0.5, 1.0, 0.5, 0.0, 0.5 };

    [Fact]
    public void TorchSortOrdersTiesAsTorch()
    {
        // torch.sort(descending=True)[1] for these 24 keys; a stable sort would give 2, 6, 11, ...
        Assert.Equal(new[] { 2, 20, 6, 18, 17, 16, 11, 12, 23, 21, 19, 14, 10, 8, 5, 4, 3, 0, 13, 15, 9, 7, 22, 1 }, TorchSort.ArgsortDescending(TiedKeys));
        // NaN sorts first; up to 16 elements the insertion sort keeps ties in order.
        Assert.Equal(new[] { 3, 1, 0, 2, 4 }, TorchSort.ArgsortDescending(new[] { 0.5, 1.0, 0.5, double.NaN, 0.5 }));
        Assert.Empty(TorchSort.ArgsortDescending(ReadOnlySpan<double>.Empty));
    }

    static List<BoxXyxy> Row(int n) => Enumerable.Range(0, n).Select(i => new BoxXyxy(i * 10, 0, i * 10 + 8, 8)).ToList();

    [Fact]
    public void NmsTakesEqualScoresInIndexOrder()
    {
        var boxes = Row(24);
        boxes[20] = new BoxXyxy(61, 1, 69, 9);   // IoU 49/79 with box 6, same score
        boxes[23] = new BoxXyxy(121, 0, 129, 8); // IoU 56/72 with box 12, same score
        // torchvision.ops.nms: its sort is stable, so 6 suppresses 20 and 12 suppresses 23.
        Assert.Equal(new[] { 2, 6, 11, 16, 17, 18, 3, 4, 5, 8, 10, 12, 14, 19, 21, 0, 1, 7, 9, 13, 15, 22 }, BoxNms.Nms(boxes, TiedKeys, 0.5));
        // At 0.8 neither pair overlaps enough.
        Assert.Equal(new[] { 2, 6, 11, 16, 17, 18, 20, 3, 4, 5, 8, 10, 12, 14, 19, 21, 23, 0, 1, 7, 9, 13, 15, 22 }, BoxNms.Nms(boxes, TiedKeys, 0.8));
    }

    [Fact]
    public void NmsSuppressesStrictlyAboveTheThreshold()
    {
        var boxes = new List<BoxXyxy> { new(0, 0, 10, 10), new(0, 0, 10, 5), new(20, 20, 30, 30) };
        var scores = new[] { 0.9, 0.8, 0.6 };
        // IoU 50/100 = 0.5 exactly: kept at 0.5, suppressed below.
        Assert.Equal(new[] { 0, 1, 2 }, BoxNms.Nms(boxes, scores, 0.5));
        Assert.Equal(new[] { 0, 2 }, BoxNms.Nms(boxes, scores, 0.49));
    }

    [Fact]
    public void NmsComparesAFloat32IouWithTheThreshold()
    {
        // IoU 60/100 in float32 is 0.6000000238 > 0.6: torchvision suppresses at 0.6.
        var boxes = new List<BoxXyxy> { new(0, 0, 10, 10), new(0, 0, 10, 6), new(20, 20, 30, 30) };
        var scores = new[] { 0.9, 0.7, 0.6 };
        Assert.Equal(new[] { 0, 2 }, BoxNms.Nms(boxes, scores, 0.6));
        Assert.Equal(new[] { 0, 1, 2 }, BoxNms.Nms(boxes, scores, 0.6000001));
    }

    [Fact]
    public void EmptyBoxesNeverSuppress()
    {
        // Area 0 gives IoU 0/0 = NaN, never above the threshold: empty masks all survive.
        var boxes = new List<BoxXyxy> { default, default, new(3, 3, 3, 3), new(3, 3, 3, 3) };
        Assert.Equal(new[] { 1, 0, 2, 3 }, BoxNms.Nms(boxes, new[] { 0.5, 0.9, 0.1, 0.1 }, 0.0));
        Assert.Empty(BoxNms.Batched(new List<BoxXyxy>(), ReadOnlySpan<double>.Empty, 0.7));
    }

    [Fact]
    public void BatchedNmsPast1000BoxesResortsUnstably()
    {
        // 1001 disjoint boxes, scores 0, 0.5, 1: nothing is suppressed, but torchvision's
        // per-category path re-sorts with torch.sort; at 1000 boxes it returns nms's order.
        var scores = Enumerable.Range(0, 1001).Select(i => i * 7 % 3 * 0.5).ToArray();
        var boxes = Enumerable.Range(0, 1001).Select(i => new BoxXyxy(3 * i, 0, 3 * i + 2, 2)).ToList();
        var expected = new[] { 293, 311, 689, 308, 692, 305, 695, 302, 698, 299, 701, 296, 704, 686, 707, 290, 710, 287, 713, 284, 716, 281, 719, 278, 722, 668, 650, 347, 653, 344, 656, 341, 659, 338, 662, 335, 665, 332, 275, 329 };
        var keep = BoxNms.Batched(boxes, scores, 0.5);
        Assert.Equal(1001, keep.Length);
        Assert.Equal(expected, keep.Take(40));
        var stable = BoxNms.Batched(boxes.Take(1000).ToList(), scores.AsSpan(0, 1000), 0.5);
        Assert.Equal(new[] { 2, 5, 8, 11, 14, 17, 20, 23, 26, 29 }, stable.Take(10));
    }
}
