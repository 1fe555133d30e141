using SamEngine.Engine;
using SamEngine.Model;

namespace SamEngine.Tests.Model;

public class ResizeLongestSideTests
{
    [Theory]
    [InlineData(600, 900, 683, 1024)]
    [InlineData(1200, 1800, 683, 1024)]
    [InlineData(534, 800, 684, 1024)]
    [InlineData(1024, 1024, 1024, 1024)]
    [InlineData(1, 5000, 0, 1024)]
    [InlineData(3000, 7, 1024, 2)]
    public void PreprocessShapeRoundsAsTheReference(int h, int w, int newH, int newW)
    {
        Assert.Equal((newH, newW), ResizeLongestSide.GetPreprocessShape(h, w, 1024));
    }

    /// <summary>x scales by newW/oldW and y by newH/oldH: 600×900 → 683×1024 maps (450, 300) to (512, 341.5).</summary>
    [Fact]
    public void CoordsScaleEachAxisByItsOwnRatio()
    {
        var t = new ResizeLongestSide(1024);
        Assert.Equal(new[] { 512.0, 341.5, 0, 0 }, t.ApplyCoords([450, 300, 0, 0], (600, 900)));
        Assert.Equal(new[] { 1024.0, 683, 900 * (1024.0 / 900), 600 * (683.0 / 600) }, t.ApplyBoxes([900, 600, 900, 600], (600, 900)));
        Assert.Throws<ArgumentException>(() => t.ApplyBoxes([1, 2, 3], (600, 900)));
    }

    [Fact]
    public void TooElongatedImageIsAUserError()
    {
        var e = Assert.Throws<SamException>(() => new ResizeLongestSide(1024).ApplyImage(new RgbImage(1, 5000, new byte[15000])));
        Assert.Contains("1×5000", e.Message);
    }
}
