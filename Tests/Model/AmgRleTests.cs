using SamEngine.Model;

namespace SamEngine.Tests.Model;

/// <summary>Uncompressed RLE (mask_to_rle_pytorch / rle_to_mask) and COCO's compressed string.</summary>
public class AmgRleTests
{
    static bool[] Bits(string rows) => rows.Where(c => c is '0' or '1').Select(c => c == '1').ToArray();

    [Fact]
    public void EncodesColumnMajorStartingWithZeros()
    {
        // Masks of 2×3 and the reference's counts.
        Assert.Equal(new[] { 0, 2, 1, 1, 2 }, Rle.Encode(Bits("100 110"), 2, 3).Counts);
        Assert.Equal(new[] { 6 }, Rle.Encode(Bits("000 000"), 2, 3).Counts);
        Assert.Equal(new[] { 0, 6 }, Rle.Encode(Bits("111 111"), 2, 3).Counts);
        Assert.Equal(new[] { 2, 2, 1, 1 }, Rle.Encode(Bits("010 011"), 2, 3).Counts);
    }

    [Fact]
    public void DecodeAndAreaInvertEncode()
    {
        var mask = Bits("0110 1011 0001");
        var rle = Rle.Encode(mask, 3, 4);
        // Down the columns: 010 100 110 011.
        Assert.Equal(new[] { 1, 1, 1, 1, 2, 2, 2, 2 }, rle.Counts);
        Assert.Equal(mask, rle.Decode());
        Assert.Equal(6, rle.Area);
        Assert.Throws<ArgumentException>(() => new Rle(3, 4, new[] { 1, 2 }));
    }

    [Fact]
    public void EncodesACropPlacedInTheImage()
    {
        // uncrop_masks of the 2×3 mask 010/011 into a 5×6 image at (x0, y0) = (1, 2), then the
        // reference's RLE: [12, 2, 4, 1, 11].
        var rle = Rle.EncodeUncropped(Bits("010 011"), new BoxXyxy(1, 2, 4, 4), 5, 6);
        Assert.Equal(new[] { 12, 2, 4, 1, 11 }, rle.Counts);
        Assert.Equal((5, 6), (rle.Height, rle.Width));
        var whole = rle.Decode();
        Assert.True(whole[2 * 6 + 2] && whole[3 * 6 + 2] && whole[3 * 6 + 3]);
        Assert.Equal(3, whole.Count(b => b));
        Assert.Throws<ArgumentException>(() => Rle.EncodeUncropped(Bits("010 011"), new BoxXyxy(4, 2, 7, 4), 5, 6));
    }

    [Fact]
    public void CocoStringOfAHandWorkedExample()
    {
        // 0 → '0'; 5 → '5'; 10 → ':'; 37 − 5 = 32 → 0 with "more", then 1 → 'P' '1';
        // 3 − 10 = −7 → 25 (sign bit set, rest all ones) → 'I'.
        Assert.Equal("05:P1I", CocoRle.Encode(new[] { 0, 5, 10, 37, 3 }));
        Assert.Equal(new[] { 0, 5, 10, 37, 3 }, CocoRle.Decode("05:P1I"));
        // 16 needs a second character, as bit 4 of the first is the sign: 16|32 → '`', then '0'.
        Assert.Equal("`0", CocoRle.Encode(new[] { 16 }));
        Assert.Equal(new[] { 16 }, CocoRle.Decode("`0"));
        Assert.Equal("", CocoRle.Encode(Array.Empty<int>()));
    }

    [Fact]
    public void CocoStringRoundTripsLargeAndNegativeDeltas()
    {
        var rng = new Random(7);
        for (int t = 0; t < 200; t++)
        {
            var counts = Enumerable.Range(0, rng.Next(0, 40)).Select(_ => rng.Next(0, t % 2 == 0 ? 40 : 5_000_000)).ToArray();
            Assert.Equal(counts, CocoRle.Decode(CocoRle.Encode(counts)));
        }
    }

    [Fact]
    public void CocoStringRejectsMalformedInput()
    {
        Assert.Throws<FormatException>(() => CocoRle.Decode("P"));  // ends while "more" is set
        Assert.Throws<FormatException>(() => CocoRle.Decode("0 5")); // space is not a digit
        Assert.Throws<FormatException>(() => CocoRle.Decode("0p"));  // 'p' − 48 = 64 has more than 6 bits
    }
}
