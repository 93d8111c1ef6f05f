namespace MergeBuild.Methods;

/// <summary>
/// The one total order MergeBuild ranks task-vector entries by: larger |d| first, and among equal magnitudes the lower
/// flat index first. mergekit leaves the order of equal magnitudes to torch's unstable sort; fixing it makes the
/// result independent of the sort implementation (and matches the fixtures' reference merger for TIES).
/// </summary>
internal static class MagnitudeRanking
{
    private const uint MagnitudeMask = 0x7FFF_FFFF;

    /// <summary>
    /// The bits of |x|: for non-negative floats the bit pattern orders like the value, so magnitudes compare as
    /// integers (NaN ranks above infinity, as in torch's descending sort).
    /// </summary>
    public static uint Key(float value) => BitConverter.SingleToUInt32Bits(value) & MagnitudeMask;

    /// <summary>
    /// Sets <paramref name="mask"/>[i] = <paramref name="value"/> for the <paramref name="k"/> entries of
    /// <paramref name="values"/> ranking highest; the others are left alone.
    /// </summary>
    /// <remarks>
    /// Finds the k-th key by a radix select (four passes of 8 bits, from the top), not a sort: O(n) time and no
    /// extra memory. Entries above the threshold key are all marked; of those equal to it, the lowest indices.
    /// </remarks>
    public static void MarkTop(ReadOnlySpan<float> values, long k, Span<bool> mask, bool value)
    {
        if (k <= 0)
        {
            return;
        }

        if (k >= values.Length)
        {
            mask[..values.Length].Fill(value);
            return;
        }

        var (threshold, takeEqual) = SelectKth(values, k);
        for (var i = 0; i < values.Length; i++)
        {
            var key = Key(values[i]);
            if (key > threshold)
            {
                mask[i] = value;
            }
            else if (key == threshold && takeEqual > 0)
            {
                mask[i] = value;
                takeEqual--;
            }
        }
    }

    /// <summary>
    /// The k-th largest key (1-based) and how many entries equal to it belong to the top k.
    /// </summary>
    private static (uint Threshold, long TakeEqual) SelectKth(ReadOnlySpan<float> values, long k)
    {
        Span<long> histogram = stackalloc long[256];
        uint prefix = 0;
        uint prefixMask = 0;
        var remaining = k;
        for (var shift = 24; shift >= 0; shift -= 8)
        {
            histogram.Clear();
            foreach (var v in values)
            {
                var key = Key(v);
                if ((key & prefixMask) == prefix)
                {
                    histogram[(int)((key >> shift) & 0xFF)]++;
                }
            }

            // Walk the buckets from the largest: the k-th key lies in the first bucket that covers what is left.
            for (var bucket = 255; bucket >= 0; bucket--)
            {
                if (histogram[bucket] >= remaining)
                {
                    prefix |= (uint)bucket << shift;
                    break;
                }

                remaining -= histogram[bucket];
            }

            prefixMask |= 0xFFu << shift;
        }

        return (prefix, remaining);
    }

    /// <summary>
    /// Fills <paramref name="ranks"/> with each entry's rank in its line, 1 = smallest magnitude, n = largest
    /// (among equal magnitudes the lower index ranks higher, consistent with <see cref="MarkTop"/>).
    /// </summary>
    /// <param name="values">The tensor.</param>
    /// <param name="start">Flat index of the line's first entry.</param>
    /// <param name="length">Entries in the line.</param>
    /// <param name="stride">Distance between consecutive entries of the line.</param>
    /// <param name="scratch">At least <paramref name="length"/> elements of scratch space.</param>
    /// <param name="ranks">Receives the rank of line entry j at index j.</param>
    public static void RankLine(ReadOnlySpan<float> values, long start, int length, long stride, Span<ulong> scratch,
        Span<int> ranks)
    {
        // Sort (key, reversed index) pairs ascending: equal keys then put the higher index first, i.e. lower rank.
        for (var j = 0; j < length; j++)
        {
            scratch[j] = ((ulong)Key(values[(int)(start + j * stride)]) << 32) | (uint.MaxValue - (uint)j);
        }

        var sorted = scratch[..length];
        sorted.Sort();
        for (var position = 0; position < length; position++)
        {
            ranks[(int)(uint.MaxValue - (uint)sorted[position])] = position + 1;
        }
    }
}
