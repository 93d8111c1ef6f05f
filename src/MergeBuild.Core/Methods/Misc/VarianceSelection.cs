using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// SCE's "select" step, streamed: which entries have the largest population variance across the task vectors. The
/// k-th largest |variance| is found by <see cref="RadixSelect"/> over sort keys (one or two passes), and ties at
/// that value go to the lowest flat indices, counted in flat order during the next pass.
/// </summary>
/// <remarks>
/// The order is the one the whole-tensor implementation used: |variance| ascending with NaN smallest (how
/// <c>Array.Sort</c> orders floats); the threshold is the value of ascending rank <c>count − k</c>; an entry is kept
/// when it is greater than the threshold, or equal to it and among the first <c>k − (entries greater)</c> such
/// entries; a NaN threshold keeps nothing (every comparison with NaN is false).
/// </remarks>
internal sealed class VarianceSelection
{
    private readonly RadixSelect radix = new();
    private long nonZero;
    private uint lowBits;
    private long k;
    private uint bucket;
    private long below;
    private long aboveBucket;
    private uint thresholdKey;
    private long ties;
    private long tiesSeen;

    /// <summary>Where the selection stands.</summary>
    public enum Outcome
    {
        /// <summary>k ≤ 0: nothing is selected, the result is the base.</summary>
        Nothing,

        /// <summary>k covers every entry.</summary>
        All,

        /// <summary>The threshold key is known; the next pass counts ties in order.</summary>
        Threshold,

        /// <summary>The threshold's bucket must be refined by a second counting pass.</summary>
        NeedsRefinement,
    }

    /// <summary>The outcome after the last finished counting pass.</summary>
    public Outcome State { get; private set; }

    /// <summary>Flat index of the last tie kept (−1 when none): ties at or below it are kept.</summary>
    public long TieCutoff { get; private set; } = -1;

    public static long StateBytes => RadixSelect.StateBytes;

    /// <summary>The sort key of |variance|: NaN lowest, then the float's bits in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Key(float absoluteVariance)
    {
        var bits = BitConverter.SingleToUInt32Bits(absoluteVariance);
        return bits > 0x7F800000u ? 0u : bits + 0x10000u;
    }

    /// <summary>First pass: counts the entries' |variance|.</summary>
    public void Count(ReadOnlySpan<float> absoluteVariance)
    {
        long zeros = 0;
        var low = lowBits;
        foreach (var v in absoluteVariance)
        {
            // Branch-free: the NaN key is 0, so it adds nothing to the low bits.
            var key = Key(v);
            radix.AddHigh(key);
            zeros += v == 0 ? 1 : 0;
            low |= key;
        }

        lowBits = low;
        nonZero += absoluteVariance.Length - zeros;
    }

    /// <summary>
    /// After the first pass: mergekit's k = <c>int(count_nonzero(var) * select_topk)</c>, an int64 tensor times a
    /// Python float being a float32 product, truncated toward zero; then the threshold's bucket.
    /// </summary>
    public Outcome Locate(double selectTopK)
    {
        var product = (float)nonZero * (float)selectTopK;
        k = (long)product;
        var count = radix.Count;
        if (k <= 0)
        {
            return State = Outcome.Nothing;
        }

        if (k >= count)
        {
            return State = Outcome.All;
        }

        (bucket, below, var inBucket) = radix.Locate(count - k);
        aboveBucket = radix.CountAbove(bucket);
        if (bucket == 0 || (lowBits & 0xFFFF) == 0)
        {
            // One value per bucket (NaN alone in bucket 0; bf16 variances have zero low bits): the bucket is the key.
            SetThreshold(bucket << 16, aboveBucket);
        }
        else if (k - aboveBucket == inBucket)
        {
            // The whole bucket is kept: everything at or above its lowest key, no ties to share.
            SetThreshold((bucket << 16) - 1, k);
        }
        else
        {
            radix.Refine(bucket);
            return State = Outcome.NeedsRefinement;
        }

        return State = Outcome.Threshold;
    }

    /// <summary>Second pass (only for <see cref="Outcome.NeedsRefinement"/>): counts the entries' low key bits.</summary>
    public void Refine(ReadOnlySpan<float> absoluteVariance)
    {
        foreach (var v in absoluteVariance)
        {
            radix.AddLow(Key(v));
        }
    }

    /// <summary>After the second pass: the exact threshold.</summary>
    public void FinishRefinement()
    {
        var key = radix.KeyAt(bucket, Total - k - below);
        SetThreshold(key, aboveBucket + radix.CountAboveInBucket(key));
        State = Outcome.Threshold;
    }

    /// <summary>
    /// Marks kept entries in <paramref name="keep"/> (all bits set) for the entries of one chunk starting at flat index
    /// <paramref name="start"/>; with <paramref name="countTies"/> the pass runs in flat order and assigns the ties.
    /// </summary>
    public void Mask(ReadOnlySpan<float> absoluteVariance, long start, bool countTies, Span<float> keep)
    {
        var set = BitConverter.UInt32BitsToSingle(uint.MaxValue);
        if (State == Outcome.All)
        {
            keep.Fill(set);
            return;
        }

        if (thresholdKey == 0)
        {
            // A NaN threshold: every comparison is false, nothing is kept.
            keep.Clear();
            return;
        }

        var e = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var threshold = Vector256.Create(thresholdKey);
            ref var source = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(absoluteVariance));
            ref var target = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(keep));
            for (; e <= absoluteVariance.Length - 8; e += 8)
            {
                var bits = Vector256.LoadUnsafe(ref source, (nuint)e);
                var nan = Vector256.GreaterThan(bits, Vector256.Create(0x7F800000u));
                var key = Vector256.AndNot(bits + Vector256.Create(0x10000u), nan);
                Vector256.GreaterThan(key, threshold).StoreUnsafe(ref target, (nuint)e);
                if (Vector256.EqualsAny(key, threshold))
                {
                    // Ties are rare: settle them one by one, in flat order.
                    for (var j = e; j < e + 8; j++)
                    {
                        if (Key(absoluteVariance[j]) == thresholdKey)
                        {
                            keep[j] = Tie(start + j, countTies) ? set : 0f;
                        }
                    }
                }
            }
        }

        for (; e < absoluteVariance.Length; e++)
        {
            var key = Key(absoluteVariance[e]);
            keep[e] = key > thresholdKey || (key == thresholdKey && Tie(start + e, countTies)) ? set : 0f;
        }
    }

    /// <summary>Whether the tie at flat index <paramref name="index"/> is kept (assigning it when counting).</summary>
    private bool Tie(long index, bool countTies)
    {
        if (countTies && tiesSeen < ties)
        {
            tiesSeen++;
            TieCutoff = index;
        }

        return index <= TieCutoff;
    }

    private long Total => radix.Count;

    private void SetThreshold(uint key, long above)
    {
        thresholdKey = key;
        ties = k - above;
    }
}
