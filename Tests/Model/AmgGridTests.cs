using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>Point grids and crop boxes; expected values are the reference's (utils/amg.py) output.</summary>
public class AmgGridTests
{
    [Fact]
    public void PointGridIsRowMajorCellCentres()
    {
        const double sixth = 0.16666666666666666, fiveSixths = 0.8333333333333334;
        var expected = new (double, double)[]
        {
            (sixth, sixth), (0.5, sixth), (fiveSixths, sixth),
            (sixth, 0.5), (0.5, 0.5), (fiveSixths, 0.5),
            (sixth, fiveSixths), (0.5, fiveSixths), (fiveSixths, fiveSixths),
        };
        Assert.Equal(expected, PointGrids.Build(3));
        Assert.Equal(new[] { (0.5, 0.5) }, PointGrids.Build(1));
    }

    [Fact]
    public void PointGridRoundsAsNumpyLinspace()
    {
        // numpy.linspace's i·step + start: 0.3571428571428572, not 5/14 = 0.35714285714285715.
        var expected = new[] { 0.07142857142857142, 0.2142857142857143, 0.3571428571428572, 0.5, 0.6428571428571429, 0.7857142857142858, 0.9285714285714286 };
        var grid = PointGrids.Build(7);
        Assert.Equal(expected, grid.Take(7).Select(p => p.X));
        Assert.Equal(expected, grid.Where((_, i) => i % 7 == 0).Select(p => p.Y));
    }

    [Fact]
    public void LayerGridsShrinkByTheDownscaleFactor()
    {
        Assert.Equal(new[] { 1024, 100, 9, 1 }, PointGrids.BuildAllLayers(32, 3, 3).Select(g => g.Length));
        Assert.Equal(new[] { 100, 25, 4 }, PointGrids.BuildAllLayers(10, 2, 2).Select(g => g.Length));
        Assert.Throws<ArgumentException>(() => PointGrids.BuildAllLayers(2, 2, 2)); // 2/4 rounds to 0 points
        Assert.Throws<ArgumentException>(() => PointGrids.Build(0));
    }

    [Fact]
    public void FixturePromptsComeFromTheLayerOneGrid()
    {
        // sam-mini/shapes/amg.json: 8 points per side, factor 2, so 4×4 in the 552×402 crops;
        // its record with point (483, 150.75) comes from grid point (0.875, 0.375).
        var grid = PointGrids.BuildAllLayers(8, 1, 2)[1];
        Assert.Equal(16, grid.Length);
        var (x, y) = grid[1 * 4 + 3];
        Assert.Equal(483.0, x * 552);
        Assert.Equal(150.75, y * 402);
    }

    static BoxXyxy B(int x0, int y0, int x1, int y1) => new(x0, y0, x1, y1);

    [Fact]
    public void CropBoxesOfTheFixtureImage()
    {
        var crops = CropBoxes.Generate(600, 900, 1, 512.0 / 1500);
        Assert.Equal(new[] { B(0, 0, 900, 600), B(0, 0, 552, 402), B(0, 198, 552, 600), B(348, 0, 900, 402), B(348, 198, 900, 600) }, crops.Select(c => c.Box));
        Assert.Equal(new[] { 0, 1, 1, 1, 1 }, crops.Select(c => c.Layer));
        Assert.Single(CropBoxes.Generate(600, 900, 0, 512.0 / 1500));
    }

    [Fact]
    public void CropBoxesOfTwoLayers()
    {
        var crops = CropBoxes.Generate(1200, 1800, 2, 512.0 / 1500);
        Assert.Equal(21, crops.Count);
        Assert.Equal(new[] { B(0, 0, 1105, 805), B(0, 396, 1105, 1200), B(696, 0, 1800, 805), B(696, 396, 1800, 1200) }, crops.Skip(1).Take(4).Select(c => c.Box));
        Assert.Equal(new[] { B(0, 0, 603, 453), B(0, 249, 603, 702), B(0, 498, 603, 951), B(0, 747, 603, 1200), B(399, 0, 1002, 453) }, crops.Skip(5).Take(5).Select(c => c.Box));
        Assert.Equal(B(1197, 747, 1800, 1200), crops[^1].Box);
        Assert.Equal(2, crops[^1].Layer);

        var hd = CropBoxes.Generate(1080, 1920, 2, 0.3);
        Assert.Equal(new[] { B(0, 0, 1122, 702), B(0, 378, 1122, 1080), B(798, 0, 1920, 702), B(798, 378, 1920, 1080) }, hd.Skip(1).Take(4).Select(c => c.Box));
        Assert.Equal(new[] { B(1320, 0, 1920, 392), B(1320, 230, 1920, 622), B(1320, 460, 1920, 852), B(1320, 690, 1920, 1080) }, hd.Skip(17).Select(c => c.Box));
    }

    [Fact]
    public void CropBoxesOfASmallOddImageClipAtTheBorder()
    {
        // 37×101, three layers, overlap 0.5: layer 3's last row of crops is cut to 2 rows.
        var crops = CropBoxes.Generate(37, 101, 3, 0.5);
        Assert.Equal(1 + 4 + 16 + 64, crops.Count);
        Assert.Equal(new[] { B(0, 0, 60, 28), B(0, 10, 60, 37), B(42, 0, 101, 28), B(42, 10, 101, 37) }, crops.Skip(1).Take(4).Select(c => c.Box));
        Assert.Equal(new[] { B(0, 0, 32, 16), B(0, 7, 32, 23), B(0, 14, 32, 30), B(0, 21, 32, 37), B(23, 0, 55, 16) }, crops.Skip(5).Take(5).Select(c => c.Box));
        Assert.Equal(new[] { B(0, 0, 17, 9), B(0, 5, 17, 14), B(0, 10, 17, 19), B(0, 15, 17, 24), B(0, 20, 17, 29), B(0, 25, 17, 34), B(0, 30, 17, 37), B(0, 35, 17, 37) }, crops.Skip(21).Take(8).Select(c => c.Box));
        Assert.Equal(new[] { B(91, 30, 101, 37), B(91, 35, 101, 37) }, crops.Skip(83).Select(c => c.Box));
    }
}
