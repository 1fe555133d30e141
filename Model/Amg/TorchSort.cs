namespace SamEngine.Model;

/// <summary>
/// torch.sort(descending=True) on the CPU, ties included. PyTorch's CPU sort is not stable: it
/// is std::sort from libstdc++ (introsort) on (key, index) pairs with NaN ordered first.
/// torchvision's batched_nms re-sorts its result with it past 1000 boxes, so equal scores (in
/// AMG: all masks of a crop in the cross-crop NMS, all unchanged masks after small-region
/// cleanup) come out in this order, which differs from a stable sort's. This replays
/// the algorithm step for step (16-element insertion-sort threshold, median of three into the
/// first slot, unguarded Hoare partition, heapsort past 2·⌊log2 n⌋ levels, final insertion
/// sort), so the order is PyTorch's on Linux rather than an arbitrary one.
/// </summary>
internal static class TorchSort
{
    const int Threshold = 16;

    /// <summary>The indices that sort <paramref name="keys"/> in descending order, as torch.sort(..., descending=True)[1].</summary>
    public static int[] ArgsortDescending(ReadOnlySpan<double> keys)
    {
        var items = new Item[keys.Length];
        for (int i = 0; i < items.Length; i++) items[i] = new Item(keys[i], i);
        if (items.Length > 1)
        {
            IntroLoop(items, 0, items.Length, 2 * Log2(items.Length));
            FinalInsertionSort(items, 0, items.Length);
        }
        var order = new int[items.Length];
        for (int i = 0; i < order.Length; i++) order[i] = items[i].Index;
        return order;
    }

    readonly record struct Item(double Key, int Index);

    /// <summary>"a goes before b": NaN first, then larger keys (KeyValueCompDesc).</summary>
    static bool Before(in Item a, in Item b) => (double.IsNaN(a.Key) && !double.IsNaN(b.Key)) || a.Key > b.Key;

    static int Log2(int n) => 31 - int.LeadingZeroCount(n);

    static void IntroLoop(Item[] a, int first, int last, int depthLimit)
    {
        while (last - first > Threshold)
        {
            if (depthLimit == 0)
            {
                HeapSort(a, first, last);
                return;
            }
            depthLimit--;
            int cut = PartitionPivot(a, first, last);
            IntroLoop(a, cut, last, depthLimit);
            last = cut;
        }
    }

    static int PartitionPivot(Item[] a, int first, int last)
    {
        int mid = first + (last - first) / 2;
        MoveMedianToFirst(a, first, first + 1, mid, last - 1);
        return UnguardedPartition(a, first + 1, last, first);
    }

    static void MoveMedianToFirst(Item[] a, int result, int x, int y, int z)
    {
        int median;
        if (Before(a[x], a[y]))
            median = Before(a[y], a[z]) ? y : Before(a[x], a[z]) ? z : x;
        else
            median = Before(a[x], a[z]) ? x : Before(a[y], a[z]) ? z : y;
        (a[result], a[median]) = (a[median], a[result]);
    }

    static int UnguardedPartition(Item[] a, int first, int last, int pivot)
    {
        while (true)
        {
            while (Before(a[first], a[pivot])) first++;
            last--;
            while (Before(a[pivot], a[last])) last--;
            if (first >= last) return first;
            (a[first], a[last]) = (a[last], a[first]);
            first++;
        }
    }

    static void FinalInsertionSort(Item[] a, int first, int last)
    {
        if (last - first > Threshold)
        {
            InsertionSort(a, first, first + Threshold);
            for (int i = first + Threshold; i < last; i++) UnguardedLinearInsert(a, i);
        }
        else InsertionSort(a, first, last);
    }

    static void InsertionSort(Item[] a, int first, int last)
    {
        for (int i = first + 1; i < last; i++)
        {
            if (Before(a[i], a[first]))
            {
                var value = a[i];
                Array.Copy(a, first, a, first + 1, i - first);
                a[first] = value;
            }
            else UnguardedLinearInsert(a, i);
        }
    }

    static void UnguardedLinearInsert(Item[] a, int last)
    {
        var value = a[last];
        int next = last - 1;
        while (Before(value, a[next]))
        {
            a[last] = a[next];
            last = next--;
        }
        a[last] = value;
    }

    // Heapsort (std::make_heap then std::sort_heap) on a[first..last), a max-heap under Before's reverse.
    static void HeapSort(Item[] a, int first, int last)
    {
        int len = last - first;
        if (len >= 2)
            for (int parent = (len - 2) / 2; ; parent--)
            {
                AdjustHeap(a, first, parent, len, a[first + parent]);
                if (parent == 0) break;
            }
        while (last - first > 1)
        {
            last--;
            var value = a[last];
            a[last] = a[first];
            AdjustHeap(a, first, 0, last - first, value);
        }
    }

    static void AdjustHeap(Item[] a, int first, int hole, int len, Item value)
    {
        int top = hole, child = hole;
        while (child < (len - 1) / 2)
        {
            child = 2 * (child + 1);
            if (Before(a[first + child], a[first + child - 1])) child--;
            a[first + hole] = a[first + child];
            hole = child;
        }
        if ((len & 1) == 0 && child == (len - 2) / 2)
        {
            child = 2 * (child + 1);
            a[first + hole] = a[first + child - 1];
            hole = child - 1;
        }
        // Push the value back up from the hole towards top.
        int parent = (hole - 1) / 2;
        while (hole > top && Before(a[first + parent], value))
        {
            a[first + hole] = a[first + parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }
        a[first + hole] = value;
    }
}
