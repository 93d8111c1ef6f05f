using System.Runtime.CompilerServices;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// Exact order statistics of a stream of 32-bit sort keys without storing the stream: a first pass counts the keys'
/// high 16 bits, which locates the bucket holding each wanted rank; a second pass, only where needed, counts the low
/// 16 bits of the keys in those buckets, which gives the exact key. Memory: one 64K-entry table, plus one per
/// refined bucket.
/// </summary>
/// <remarks>
/// Float values become keys whose unsigned order is the wanted value order (see the callers). When every value's
/// low 16 bits are zero — bf16 values — a bucket holds a single value and the first pass alone is exact.
/// </remarks>
internal sealed class RadixSelect
{
    private const int Buckets = 1 << 16;

    // Allocated on first use: the executor begins (and drops) a merge for every tensor just to plan its work.
    private long[] high = [];
    private readonly List<(uint Bucket, long[] Low)> refined = [];

    private long[] High => high.Length == 0 ? high = new long[Buckets] : high;

    /// <summary>Keys counted by <see cref="AddHigh"/>.</summary>
    public long Count { get; private set; }

    /// <summary>Most memory the tables take (with three refined buckets), for the executor's budget.</summary>
    public static long StateBytes => 4 * Buckets * 8L;

    /// <summary>First pass: counts a key's bucket.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddHigh(uint key)
    {
        High[key >> 16]++;
        Count++;
    }

    /// <summary>
    /// The bucket holding the key of ascending rank <paramref name="rank"/> (0-based), how many keys lie in lower
    /// buckets and how many in the bucket itself.
    /// </summary>
    public (uint Bucket, long Below, long InBucket) Locate(long rank)
    {
        var counts = High;
        long below = 0;
        for (var bucket = 0; bucket < Buckets; bucket++)
        {
            if (below + counts[bucket] > rank)
            {
                return ((uint)bucket, below, counts[bucket]);
            }

            below += counts[bucket];
        }

        throw new ArgumentOutOfRangeException(nameof(rank), rank, $"only {Count} keys were counted");
    }

    /// <summary>How many counted keys lie in buckets above <paramref name="bucket"/>.</summary>
    public long CountAbove(uint bucket)
    {
        var counts = High;
        long above = 0;
        for (var b = (int)bucket + 1; b < Buckets; b++)
        {
            above += counts[b];
        }

        return above;
    }

    /// <summary>Asks the second pass to count the low bits of the keys in <paramref name="bucket"/>.</summary>
    public void Refine(uint bucket)
    {
        if (!refined.Exists(r => r.Bucket == bucket))
        {
            refined.Add((bucket, new long[Buckets]));
        }
    }

    /// <summary>True when a second pass is needed (some bucket was asked to be refined).</summary>
    public bool NeedsSecondPass => refined.Count > 0;

    /// <summary>Second pass: counts a key's low bits if its bucket is refined.</summary>
    public void AddLow(uint key)
    {
        var bucket = key >> 16;
        foreach (var (b, low) in refined)
        {
            if (b == bucket)
            {
                low[key & 0xFFFF]++;
                return;
            }
        }
    }

    /// <summary>After the second pass: the key of rank <paramref name="rankInBucket"/> within a refined bucket.</summary>
    public uint KeyAt(uint bucket, long rankInBucket)
    {
        var low = refined.Find(r => r.Bucket == bucket).Low;
        long below = 0;
        for (var k = 0; k < Buckets; k++)
        {
            if (below + low[k] > rankInBucket)
            {
                return (bucket << 16) | (uint)k;
            }

            below += low[k];
        }

        throw new ArgumentOutOfRangeException(nameof(rankInBucket), rankInBucket, $"bucket {bucket} holds fewer keys");
    }

    /// <summary>After the second pass: how many keys of a refined bucket are greater than <paramref name="key"/>.</summary>
    public long CountAboveInBucket(uint key)
    {
        var low = refined.Find(r => r.Bucket == key >> 16).Low;
        long above = 0;
        for (var k = (int)(key & 0xFFFF) + 1; k < Buckets; k++)
        {
            above += low[k];
        }

        return above;
    }
}
