using System.Buffers;

namespace MergeBuild.Methods;

/// <summary>
/// The k entries of a tensor ranking highest in <see cref="MagnitudeRanking"/>'s order (larger |d| first, lower flat
/// index first among equals), found from magnitude histograms without sorting, then recognised entry by entry.
/// </summary>
/// <remarks>
/// <para>The k-th largest key is found from a histogram of the high 16 bits of the 31-bit magnitude key (32768
/// buckets): walking down from the top, the first bucket that covers what is left of k holds it. For bf16 values the
/// low 16 bits are zero, so that bucket is the key. Otherwise a second pass histograms the low 16 bits of the entries
/// in that bucket (65536 counters) and the same walk gives the exact key.</para>
/// <para>An entry is selected when its key is above the threshold key, or equal to it and among the first
/// <see cref="TakeEqual"/> such entries in index order: chunks arrive in order, so a running count of the equal keys
/// seen so far decides, exactly as <see cref="MagnitudeRanking.MarkTop"/> does over the whole tensor.</para>
/// </remarks>
internal sealed class TopKSelection
{
    /// <summary>Buckets of the high-bits histogram: the magnitude key has 31 bits.</summary>
    public const int HighBuckets = 1 << 15;

    private const int LowBuckets = 1 << 16;

    private long[]? lowHistogram;

    /// <param name="k">How many entries to select (≤ 0: none; ≥ count: all).</param>
    /// <param name="count">Entries in the tensor.</param>
    public TopKSelection(long k, long count)
    {
        None = k <= 0;
        All = k >= count;
        K = k;
    }

    /// <summary>How many entries are selected.</summary>
    public long K { get; }

    /// <summary>Nothing is selected (k ≤ 0).</summary>
    public bool None { get; }

    /// <summary>Everything is selected (k ≥ numel).</summary>
    public bool All { get; }

    /// <summary>The threshold key: entries with a larger key are selected.</summary>
    public uint Threshold { get; private set; }

    /// <summary>How many entries with key equal to <see cref="Threshold"/> are selected (the lowest indices).</summary>
    public long TakeEqual { get; private set; }

    /// <summary>Equal-key entries met so far in the current pass.</summary>
    public long Seen { get; set; }

    /// <summary>The high 16 bits of the threshold key, once the high histogram has been read (−1 before).</summary>
    public int Bucket { get; private set; } = -1;

    /// <summary>How many of the threshold bucket's entries are selected, once the high histogram has been read.</summary>
    private long Remaining { get; set; }

    /// <summary>
    /// Reads the high-bits histogram; <paramref name="lowBitsZero"/> when every key has zero low 16 bits (bf16). Reading
    /// another histogram later (a recount) starts over.
    /// </summary>
    public void ReadHigh(ReadOnlySpan<long> histogram, bool lowBitsZero)
    {
        if (None || All)
        {
            return;
        }

        Bucket = Walk(histogram, K, out var remaining);
        Remaining = remaining;
        if (lowBitsZero)
        {
            Threshold = (uint)Bucket << 16;
            TakeEqual = Remaining;
        }
        else
        {
            // Pooled for the reason BandedHistogram pools its counters: fresh, mostly untouched pages cost faults.
            // A recount reads the high histogram again and reuses the counters taken the first time.
            lowHistogram ??= ArrayPool<long>.Shared.Rent(LowBuckets);
            lowHistogram.AsSpan(0, LowBuckets).Clear();
        }
    }

    /// <summary>Counts an entry of the threshold's high bucket during the low-bits pass.</summary>
    public void CountLow(uint key) => lowHistogram![key & 0xFFFF]++;

    /// <summary>True during the low-bits pass for this selection.</summary>
    public bool NeedsLow => lowHistogram is not null;

    /// <summary>Reads the low-bits histogram: the threshold key is now exact.</summary>
    public void ReadLow()
    {
        var low = Walk(lowHistogram.AsSpan(0, LowBuckets), Remaining, out var remaining);
        Threshold = ((uint)Bucket << 16) | (uint)low;
        TakeEqual = remaining;
        ArrayPool<long>.Shared.Return(lowHistogram!);
        lowHistogram = null;
    }

    /// <summary>Bytes this selection may hold.</summary>
    public static long StateBytes(bool lowBitsZero) => lowBitsZero ? 64 : 64 + 8L * LowBuckets;

    /// <summary>Selection of one entry with magnitude key <paramref name="key"/>, the next in index order.</summary>
    public bool Select(uint key)
    {
        if (None || All)
        {
            return All;
        }

        if (key != Threshold)
        {
            return key > Threshold;
        }

        return Seen++ < TakeEqual;
    }

    /// <summary>The bucket (from the top) where the k-th entry lies, and how many of that bucket's entries are in the top k.</summary>
    private static int Walk(ReadOnlySpan<long> histogram, long k, out long remaining)
    {
        remaining = k;
        for (var bucket = histogram.Length - 1; bucket > 0; bucket--)
        {
            if (histogram[bucket] >= remaining)
            {
                return bucket;
            }

            remaining -= histogram[bucket];
        }

        return 0;
    }
}
