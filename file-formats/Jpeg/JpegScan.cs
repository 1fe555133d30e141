namespace SamEngine.FileFormats;

/// <summary>
/// One scan header (SOS): its components in order, the spectral band Ss..Se (zigzag indices) and
/// the successive-approximation bits Ah (the previous scan's Al for this band) and Al.
/// </summary>
sealed record JpegScan(JpegComponent[] Components, int Ss, int Se, int Ah, int Al)
{
    public bool IsDc => Ss == 0;
    public bool IsRefinement => Ah != 0;
}
