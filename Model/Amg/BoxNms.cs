namespace SamEngine.Model;

/// <summary>
/// Greedy non-maximum suppression over boxes, as torchvision's CPU nms and batched_nms (with
/// one category, as automatic mask generation uses it): boxes taken by score, highest first,
/// each suppressing the later ones whose IoU with it exceeds the threshold. Areas and IoU in
/// float32 as there, box area (x1 − x0)(y1 − y0) with no +1, an empty union giving NaN (never
/// above the threshold). torchvision sorts the scores stably, so of equal scores the earlier
/// box goes first (AMG depends on it: all masks of a crop share one score in the cross-crop
/// NMS, and all unchanged masks one score after small-region cleanup).
/// </summary>
internal static class BoxNms
{
    /// <summary>torchvision.ops.nms: the kept indices, highest score first.</summary>
    public static int[] Nms(IReadOnlyList<BoxXyxy> boxes, ReadOnlySpan<double> scores, double iouThreshold)
    {
        int n = boxes.Count;
        if (scores.Length != n) throw new ArgumentException($"{n} boxes but {scores.Length} scores");
        var areas = new float[n];
        for (int i = 0; i < n; i++) areas[i] = (float)boxes[i].Width * boxes[i].Height;
        var order = StableArgsortDescending(scores);
        var suppressed = new bool[n];
        var keep = new List<int>();
        for (int a = 0; a < n; a++)
        {
            int i = order[a];
            if (suppressed[i]) continue;
            keep.Add(i);
            var bi = boxes[i];
            for (int b = a + 1; b < n; b++)
            {
                int j = order[b];
                if (suppressed[j]) continue;
                var bj = boxes[j];
                float w = Math.Max(0f, (float)Math.Min(bi.X1, bj.X1) - Math.Max(bi.X0, bj.X0));
                float h = Math.Max(0f, (float)Math.Min(bi.Y1, bj.Y1) - Math.Max(bi.Y0, bj.Y0));
                float intersection = w * h;
                float iou = intersection / (areas[i] + areas[j] - intersection);
                if (iou > iouThreshold) suppressed[j] = true;
            }
        }
        return keep.ToArray();
    }

    /// <summary>Descending, NaN first as torch's comparator puts it, ties in index order.</summary>
    static int[] StableArgsortDescending(ReadOnlySpan<double> scores)
    {
        var keys = scores.ToArray();
        var order = new int[keys.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) =>
        {
            double ka = keys[a], kb = keys[b];
            bool nanA = double.IsNaN(ka), nanB = double.IsNaN(kb);
            if (nanA != nanB) return nanA ? -1 : 1;
            if (!nanA && ka != kb) return ka > kb ? -1 : 1;
            return a.CompareTo(b);
        });
        return order;
    }

    /// <summary>
    /// torchvision.ops.batched_nms with every box in one category: the same boxes survive as
    /// <see cref="Nms"/>, but past 1000 boxes torchvision switches to its per-category path,
    /// which returns them in ascending index order re-sorted by score with torch.sort, which
    /// is not stable (<see cref="TorchSort"/>); that order is reproduced too, since the
    /// records come out in it.
    /// </summary>
    public static int[] Batched(IReadOnlyList<BoxXyxy> boxes, ReadOnlySpan<double> scores, double iouThreshold)
    {
        var keep = Nms(boxes, scores, iouThreshold);
        if (boxes.Count * 4 <= 4000) return keep;
        Array.Sort(keep);
        var kept = new double[keep.Length];
        for (int i = 0; i < keep.Length; i++) kept[i] = scores[keep[i]];
        var order = TorchSort.ArgsortDescending(kept);
        var result = new int[keep.Length];
        for (int i = 0; i < keep.Length; i++) result[i] = keep[order[i]];
        return result;
    }
}
