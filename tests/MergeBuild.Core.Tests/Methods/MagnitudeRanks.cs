namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The plain reference order of TIES and breadcrumbs: every entry ranked by magnitude (larger first, by the float's bits
/// without the sign, so NaN and infinity rank above every number), the lower index first among equals.
/// </summary>
internal static class MagnitudeRanks
{
    /// <summary>rank[i] = how many entries rank before entry i.</summary>
    public static int[] Of(float[] values)
    {
        var order = Enumerable.Range(0, values.Length)
            .OrderByDescending(i => BitConverter.SingleToUInt32Bits(values[i]) & 0x7FFF_FFFF)
            .ThenBy(i => i)
            .ToArray();
        var rank = new int[values.Length];
        for (var r = 0; r < order.Length; r++)
        {
            rank[order[r]] = r;
        }

        return rank;
    }
}
