using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>Connected components and remove_small_regions against the reference's (cv2) results.</summary>
public class AmgRegionTests
{
    static readonly string[] Scene =
    {
        "##########",
        "#..######.",
        "#..###.###",
        "##########",
        "..........",
        "....#.....",
        "........##",
        "........##",
    };

    static bool[] Parse(string[] rows) => rows.SelectMany(r => r.Select(c => c == '#')).ToArray();

    static string[] Show(bool[] mask, int w) => mask.Chunk(w).Select(r => new string(r.Select(b => b ? '#' : '.').ToArray())).ToArray();

    [Theory]
    [InlineData(RegionMode.Holes, 2, new[] { "##########", "#..#######", "#..#######", "##########", "..........", "....#.....", "........##", "........##" })]
    [InlineData(RegionMode.Holes, 5, new[] { "##########", "##########", "##########", "##########", "..........", "....#.....", "........##", "........##" })]
    [InlineData(RegionMode.Holes, 100, new[] { "##########", "##########", "##########", "##########", "##########", "##########", "##########", "##########" })]
    [InlineData(RegionMode.Islands, 2, new[] { "##########", "#..######.", "#..###.###", "##########", "..........", "..........", "........##", "........##" })]
    [InlineData(RegionMode.Islands, 5, new[] { "##########", "#..######.", "#..###.###", "##########", "..........", "..........", "..........", ".........." })]
    public void RemovesRegionsBelowTheThreshold(object mode, double threshold, string[] expected)
    {
        var (mask, changed) = SmallRegions.Remove(Parse(Scene), 8, 10, threshold, (RegionMode)mode);
        Assert.True(changed);
        Assert.Equal(expected, Show(mask, 10));
    }

    [Theory]
    [InlineData(RegionMode.Holes)]
    [InlineData(RegionMode.Islands)]
    public void NothingBelowTheThresholdLeavesTheMask(object mode)
    {
        var scene = Parse(Scene);
        var (mask, changed) = SmallRegions.Remove(scene, 8, 10, 1, (RegionMode)mode);
        Assert.False(changed);
        Assert.Same(scene, mask);
    }

    [Fact]
    public void AllIslandsSmallKeepsTheFirstLargestInOpenCvOrder()
    {
        // Two one-pixel islands: (row 0, col 4) comes first in raster order, but OpenCV scans
        // 2×2 blocks, meets (row 1, col 0) first and labels it 1; np.argmax keeps label 1.
        var mask = new bool[4 * 6];
        mask[1 * 6 + 0] = mask[0 * 6 + 4] = true;
        var labels = new int[mask.Length];
        Assert.Equal(new[] { 22, 1, 1 }, ConnectedComponents.Label(mask, 4, 6, labels));
        Assert.Equal(1, labels[6]);
        Assert.Equal(2, labels[4]);
        var (kept, changed) = SmallRegions.Remove(mask, 4, 6, 5, RegionMode.Islands);
        Assert.True(changed);
        Assert.Equal(new[] { 6 }, kept.Select((b, i) => (b, i)).Where(p => p.b).Select(p => p.i));
    }

    [Fact]
    public void ComponentsConnectDiagonally()
    {
        var mask = Parse(new[] { "#..#", ".#.#", "..#.", "#..." });
        var labels = new int[16];
        var areas = ConnectedComponents.Label(mask, 4, 4, labels);
        Assert.Equal(new[] { 10, 5, 1 }, areas); // the diagonal and the right column touch at (2,2)-(1,3)
        Assert.Equal(2, labels[12]);
    }
}
