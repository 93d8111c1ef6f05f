using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// The high-bits magnitude histogram that streamed top-k selections are read from (see <see cref="TopKSelection"/>),
/// counted for large tensors at a third of the cost: one scattered increment per entry is the slow part of counting
/// (about 0.6 ns an entry on the 2-core test VM, however the counters are interleaved), and a selection only needs
/// exact counts near its own threshold.
/// </summary>
/// <remarks>
/// <para>The start of the tensor (a sixteenth, at least a quarter of <see cref="MinimumBandedCount"/>) is counted in
/// full. From it each selection's threshold is estimated and a band of buckets is put around it, wide enough for the
/// estimate to be off by 2.5% of the tensor plus four standard errors. The rest of the tensor is classified by vector compares: entries above,
/// between or below the bands are only counted, entries inside a band are gathered (vpcompressd) and scattered into
/// their buckets. Measured on 16K-entry chunks of bf16 task-vector values with a band around the median: 0.19 ns an
/// entry instead of 0.59.</para>
/// <para>Each uncounted group goes into the bucket just outside its band, so the histogram walk that finds a threshold
/// gives exactly the full histogram's answer whenever it stops inside a band; <see cref="Covers"/> says whether it did.
/// When it did not (the start of the tensor was unlike the rest), the caller counts again in full in one more pass
/// (<see cref="CountInFull"/>). Without AVX-512, and for tensors under <see cref="MinimumBandedCount"/> entries,
/// everything is counted in full.</para>
/// </remarks>
internal sealed class BandedHistogram
{
    /// <summary>Tensors smaller than this are counted in full (a miss would cost a pass for little gain).</summary>
    public const long MinimumBandedCount = 1 << 20;

    private const int Buckets = TopKSelection.HighBuckets;

    /// <summary>
    /// Interleaved histograms consecutive entries are spread over, so that two neighbours in one bucket do not wait on
    /// each other's increment (measured on 16K-entry bf16 chunks: 0.65-0.77 ns per entry with one, 0.59-0.62 with four).
    /// </summary>
    private const int Ways = 4;

    private readonly TopKSelection[] selections;
    private readonly long prefix;
    private long[]? counts;
    private long observed;
    private Band? upper;
    private Band? lower;
    private long above;
    private long between;
    private long gathered;
    private long banded;
    private uint[] keys = [];

    /// <param name="count">Entries in the tensor.</param>
    /// <param name="selections">The selections that will be read from this histogram.</param>
    /// <param name="minimumBandedCount">Tensors below this many entries are counted in full.</param>
    public BandedHistogram(long count, IReadOnlyList<TopKSelection> selections, long minimumBandedCount = MinimumBandedCount)
    {
        this.selections = [.. selections];
        Count = count;
        IsBanded = Avx512F.IsSupported && count >= minimumBandedCount &&
                   selections.Any(s => !s.None && !s.All);
        prefix = IsBanded ? Math.Max(minimumBandedCount / 4, count / 16) : long.MaxValue;
    }

    /// <summary>Entries in the tensor.</summary>
    public long Count { get; }

    /// <summary>True while counting places bands after the start of the tensor (and may therefore miss).</summary>
    public bool IsBanded { get; private set; }

    /// <summary>Bytes this histogram holds.</summary>
    public static long StateBytes(int chunkElements) => 8L * Ways * Buckets + 4L * (chunkElements + 16);

    /// <summary>Counts the next entries of the tensor, in index order.</summary>
    public void Add(ReadOnlySpan<float> values)
    {
        // Taken on first use: the executor also begins a tensor just to ask how it runs.
        counts ??= RentCounts();
        if (upper is null)
        {
            CountAll(values, counts);
            observed += values.Length;
            if (observed >= prefix && IsBanded)
            {
                PlaceBands();
            }

            return;
        }

        CountInBands(values, upper.Value, lower);
        observed += values.Length;
        banded += values.Length;
    }

    /// <summary>
    /// Counts the next entries of a bf16 tensor's task vector, <c>D(x − b)</c> from the stored bits of a fine-tune and
    /// the base (as <see cref="Kernels.StoredDifference"/> computes it): past the counted start the magnitudes are
    /// classified in registers, without a float32 copy of the task vector.
    /// </summary>
    /// <param name="fineTune">The address of the fine-tune's first stored bf16 value of these entries.</param>
    /// <param name="baseModel">The address of the base's.</param>
    /// <param name="count">Entries.</param>
    /// <param name="roundToBf16">True when the compute dtype is bf16, false for float32.</param>
    /// <param name="scratch">Working space of at least <paramref name="count"/> floats (for the counted start).</param>
    public unsafe void AddStored(nint fineTune, nint baseModel, int count, bool roundToBf16, float[] scratch)
    {
        // Bands are placed only with AVX-512 (see IsBanded), which classifying needs.
        if (upper is not { } top)
        {
            var delta = scratch.AsSpan(0, count);
            Kernels.StoredDifference.Compute(roundToBf16, fineTune, baseModel, delta);
            Add(delta);
            return;
        }

        if (keys.Length < count + 16)
        {
            keys = new uint[count + 16];
        }

        var (aboveTop, betweenBands, inside) = ClassifyStored((ushort*)fineTune, (ushort*)baseModel, count, roundToBf16,
            top, lower, keys);
        above += aboveTop;
        between += betweenBands;
        gathered += inside;
        if (roundToBf16)
        {
            RoundToBf16(keys.AsSpan(0, inside));
        }

        Scatter(keys.AsSpan(0, inside), 16, counts!);
        observed += count;
        banded += count;
    }

    /// <summary>The histogram of every entry added (lumps outside the bands in the bucket next to their band).</summary>
    public ReadOnlySpan<long> Total()
    {
        var total = Fold();
        if (upper is { } top)
        {
            var below = banded - above - between - gathered;
            AddTo(total, top.High + 1, above);
            AddTo(total, lower is { } bottom ? bottom.High + 1 : top.Low - 1, between);
            AddTo(total, (lower ?? top).Low - 1, below);
            above = between = gathered = banded = 0;
        }

        return total;
    }

    /// <summary>
    /// True when <paramref name="selection"/>, read from <see cref="Total"/>, found its threshold bucket inside a band
    /// (where every count is exact), or nothing was banded.
    /// </summary>
    public bool Covers(TopKSelection selection) =>
        upper is not { } top || selection.None || selection.All || top.Contains(selection.Bucket) ||
        lower is { } bottom && bottom.Contains(selection.Bucket);

    /// <summary>Starts over, to count every entry of the next pass in full.</summary>
    public void CountInFull()
    {
        counts?.AsSpan(0, Ways * Buckets).Clear();
        (upper, lower, observed, IsBanded) = (null, null, 0, false);
        above = between = gathered = banded = 0;
    }

    /// <summary>Gives the counters back once the thresholds are read (the histogram is not used after this).</summary>
    public void Release()
    {
        if (counts is not null)
        {
            ArrayPool<long>.Shared.Return(counts);
            counts = null;
        }
    }

    /// <summary>
    /// Cleared counters from the shared pool. A fresh megabyte per model and tensor cost a tenth of a TIES merge's CPU:
    /// the buckets a tensor never reaches were first read as the kernel's zero page while folding and then written,
    /// and each such copy-on-write fault flushes the other core's TLB (an interrupt, and an exit on a VM).
    /// </summary>
    private static long[] RentCounts()
    {
        var rented = ArrayPool<long>.Shared.Rent(Ways * Buckets);
        rented.AsSpan(0, Ways * Buckets).Clear();
        return rented;
    }

    /// <summary>
    /// The smallest key whose bucket is <paramref name="bucket"/> or higher: <c>bucket · 2¹⁶</c> for keys that are
    /// bucketed by their upper half, or the smallest float32 magnitude that rounds to that bf16 value or above,
    /// for keys bucketed after rounding (<see cref="RoundToBf16"/>): rounding to nearest even is monotonic, so a
    /// rounded key is in a range of buckets exactly when the unrounded one is in this range of keys.
    /// </summary>
    internal static uint FirstKey(int bucket, bool unrounded)
    {
        if (!unrounded || bucket == 0)
        {
            return (uint)bucket << 16;
        }

        // Halfway below the bucket's value rounds up only when the value below it is odd (ties go to even).
        var below = (uint)bucket - 1;
        return (below << 16) + 0x8000u + ((below & 1) ^ 1);
    }

    /// <summary>A range of buckets counted one by one, both ends included.</summary>
    private readonly record struct Band(int Low, int High)
    {
        public bool Contains(int bucket) => bucket >= Low && bucket <= High;

        /// <summary>The smallest key in the band: of a bf16 magnitude, or of the float32 one rounding to it.</summary>
        public uint LowestKey(bool unrounded) => FirstKey(Low, unrounded);

        /// <summary>The largest key in the band (see <see cref="LowestKey"/>).</summary>
        public uint HighestKey(bool unrounded) => FirstKey(High + 1, unrounded) - 1;
    }

    private static void AddTo(Span<long> total, int bucket, long entries)
    {
        if (entries != 0)
        {
            // Nonzero only where such entries exist, so the bucket is in range.
            total[bucket] += entries;
        }
    }

    /// <summary>From the counted start of the tensor, a band around each selection's estimated threshold.</summary>
    private void PlaceBands()
    {
        var start = Fold();
        var bands = new List<Band>();
        foreach (var selection in selections.Where(s => !s.None && !s.All))
        {
            var fraction = (double)selection.K / Count;
            var margin = 0.025 + 4 * Math.Sqrt(fraction * (1 - fraction) / observed);
            var high = fraction - margin <= 0 ? Buckets - 1 : BucketOfRank(start, (long)((fraction - margin) * observed));
            var low = fraction + margin >= 1 ? 0 : BucketOfRank(start, (long)Math.Ceiling((fraction + margin) * observed));
            bands.Add(new Band(low, high));
        }

        // Highest first; overlapping or touching bands become one.
        bands.Sort((a, b) => b.High.CompareTo(a.High));
        var merged = new List<Band> { bands[0] };
        foreach (var band in bands.Skip(1))
        {
            var last = merged[^1];
            merged[^1] = band.High >= last.Low - 1 ? new Band(Math.Min(last.Low, band.Low), last.High) : last;
            if (band.High < last.Low - 1)
            {
                merged.Add(band);
            }
        }

        upper = merged[0];
        lower = merged.Count > 1 ? merged[1] : null;
    }

    /// <summary>The bucket holding the entry of rank <paramref name="rank"/> (1 = the largest key).</summary>
    private static int BucketOfRank(ReadOnlySpan<long> histogram, long rank)
    {
        var seen = 0L;
        for (var bucket = histogram.Length - 1; bucket > 0; bucket--)
        {
            seen += histogram[bucket];
            if (seen >= Math.Max(1, rank))
            {
                return bucket;
            }
        }

        return 0;
    }

    /// <summary>Adds the interleaved histograms into the first, clears the others; returns the first.</summary>
    private Span<long> Fold()
    {
        counts ??= RentCounts();
        var total = counts.AsSpan(0, Buckets);
        for (var way = 1; way < Ways; way++)
        {
            var other = counts.AsSpan(way * Buckets, Buckets);
            TensorPrimitives.Add(total, other, total);
            other.Clear();
        }

        return total;
    }

    /// <summary>
    /// Rounds float32 magnitude keys to bf16 in place (to nearest even; the upper half is then the bucket), as
    /// <see cref="Kernels.Rounding.Bf16OfBf16Math(Vector512{float})"/> rounds the task vector's values: the keys of a
    /// difference of stored bf16 values, whose NaNs have a zero lower half.
    /// </summary>
    private static void RoundToBf16(Span<uint> keys)
    {
        var i = 0;
        for (; i <= keys.Length - 16; i += 16)
        {
            var key = Vector512.Create<uint>(keys.Slice(i, 16));
            (key + Vector512.Create(0x7FFFu) + ((key >> 16) & Vector512<uint>.One)).CopyTo(keys.Slice(i));
        }

        for (; i < keys.Length; i++)
        {
            keys[i] += 0x7FFFu + ((keys[i] >> 16) & 1);
        }
    }

    private static void CountAll(ReadOnlySpan<float> values, long[] histogram) =>
        Scatter(MemoryMarshal.Cast<float, uint>(values), 16, histogram);

    /// <summary>Increments the bucket of every key (<c>key &gt;&gt; shift</c>, masked to 15 bits), four ways interleaved.</summary>
    private static void Scatter(ReadOnlySpan<uint> keys, int shift, long[] histogram)
    {
        // Buckets are below 32768 by construction: skip the bounds checks in the hottest loop of the pass.
        ref var first = ref MemoryMarshal.GetArrayDataReference(histogram);
        ref var second = ref Unsafe.Add(ref first, Buckets);
        ref var third = ref Unsafe.Add(ref first, 2 * Buckets);
        ref var fourth = ref Unsafe.Add(ref first, 3 * Buckets);
        ref var bits = ref MemoryMarshal.GetReference(keys);
        var i = 0;
        for (; i <= keys.Length - Ways; i += Ways)
        {
            Unsafe.Add(ref first, (int)(Unsafe.Add(ref bits, i) >> shift) & 0x7FFF)++;
            Unsafe.Add(ref second, (int)(Unsafe.Add(ref bits, i + 1) >> shift) & 0x7FFF)++;
            Unsafe.Add(ref third, (int)(Unsafe.Add(ref bits, i + 2) >> shift) & 0x7FFF)++;
            Unsafe.Add(ref fourth, (int)(Unsafe.Add(ref bits, i + 3) >> shift) & 0x7FFF)++;
        }

        for (; i < keys.Length; i++)
        {
            Unsafe.Add(ref first, (int)(Unsafe.Add(ref bits, i) >> shift) & 0x7FFF)++;
        }
    }

    /// <summary>Counts the entries above and between the bands; gathers the keys of those inside, then scatters them.</summary>
    private void CountInBands(ReadOnlySpan<float> values, Band top, Band? bottom)
    {
        if (keys.Length < values.Length + 16)
        {
            keys = new uint[values.Length + 16];
        }

        var (aboveTop, betweenBands, inside) = Classify(MemoryMarshal.Cast<float, uint>(values), top, bottom, keys);
        above += aboveTop;
        between += betweenBands;
        gathered += inside;
        Scatter(keys.AsSpan(0, inside), 16, counts!);
    }

    /// <summary>The key ranges <see cref="Classify"/> compares with, in vectors.</summary>
    private readonly struct BandVectors
    {
        /// <param name="top">The upper band.</param>
        /// <param name="bottom">The lower band, if any.</param>
        /// <param name="unrounded">The keys are float32 magnitudes bucketed after rounding to bf16.</param>
        public BandVectors(Band top, Band? bottom, bool unrounded)
        {
            // Without a lower band, "between" is empty: its range is made to hold no key.
            HasBottom = bottom is not null;
            (Lowest, Highest) = bottom is { } b ? (b.LowestKey(unrounded), b.HighestKey(unrounded)) : (1u, 0u);
            (TopLowKey, TopHighKey) = (top.LowestKey(unrounded), top.HighestKey(unrounded));
            (BetweenLow, BetweenHigh) = bottom is not null ? (Highest + 1, TopLowKey - 1) : (1u, 0u);
            (TopLow, TopHigh) = (Vector512.Create(TopLowKey), Vector512.Create(TopHighKey));
            (BottomLow, BottomHigh) = (Vector512.Create(Lowest), Vector512.Create(Highest));
            (MidLow, MidHigh) = (Vector512.Create(BetweenLow), Vector512.Create(BetweenHigh));
        }

        /// <summary>Whether there is a lower band (else the bottom and between ranges hold no key).</summary>
        public bool HasBottom { get; }

        public uint Lowest { get; }

        public uint Highest { get; }

        public uint BetweenLow { get; }

        public uint BetweenHigh { get; }

        public uint TopLowKey { get; }

        public uint TopHighKey { get; }

        public Vector512<uint> TopLow { get; }

        public Vector512<uint> TopHigh { get; }

        public Vector512<uint> BottomLow { get; }

        public Vector512<uint> BottomHigh { get; }

        public Vector512<uint> MidLow { get; }

        public Vector512<uint> MidHigh { get; }
    }

    /// <summary>
    /// Classifies 16 magnitude keys: counts those above the top band and between the bands, gathers those inside a
    /// band at <paramref name="inside"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ClassifyVector(Vector512<uint> keys, in BandVectors v, ref long aboveCount, ref long betweenCount,
        ref uint destination, ref int inside)
    {
        var aboveTop = Vector512.GreaterThan(keys, v.TopHigh);
        var inBands = Vector512.AndNot(Vector512.GreaterThanOrEqual(keys, v.TopLow), aboveTop);
        if (v.HasBottom)
        {
            // Only two-sided selections (breadcrumbs) have a second band, and keys between the two.
            inBands |= Vector512.GreaterThanOrEqual(keys, v.BottomLow) & Vector512.LessThanOrEqual(keys, v.BottomHigh);
            var inBetween = Vector512.GreaterThanOrEqual(keys, v.MidLow) & Vector512.LessThanOrEqual(keys, v.MidHigh);
            betweenCount += BitOperations.PopCount(inBetween.ExtractMostSignificantBits());
        }

        aboveCount += BitOperations.PopCount(aboveTop.ExtractMostSignificantBits());

        // The whole vector is stored; only its first lanes (the gathered ones) count, the next store overwrites the rest.
        Avx512F.Compress(Vector512<uint>.Zero, inBands, keys).StoreUnsafe(ref destination, (nuint)inside);
        inside += BitOperations.PopCount(inBands.ExtractMostSignificantBits());
    }

    /// <summary>One key classified without vectors (a tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ClassifyKey(uint key, in BandVectors v, ref long aboveCount, ref long betweenCount,
        ref uint destination, ref int inside)
    {
        if (key > v.TopHighKey)
        {
            aboveCount++;
        }
        else if (key >= v.TopLowKey || (key >= v.Lowest && key <= v.Highest))
        {
            Unsafe.Add(ref destination, inside++) = key;
        }
        else if (key >= v.BetweenLow && key <= v.BetweenHigh)
        {
            betweenCount++;
        }
    }

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (long Above, long Between, int Inside) Classify(ReadOnlySpan<uint> bits, Band top, Band? bottom,
        uint[] inBand)
    {
        var bands = new BandVectors(top, bottom, unrounded: false);
        long aboveCount = 0, betweenCount = 0;
        var inside = 0;
        var i = 0;
        ref var first = ref MemoryMarshal.GetReference(bits);
        ref var destination = ref MemoryMarshal.GetArrayDataReference(inBand);
        var magnitude = Vector512.Create(0x7FFF_FFFFu);
        for (; i <= bits.Length - 16; i += 16)
        {
            var keys = Vector512.LoadUnsafe(ref first, (nuint)i) & magnitude;
            ClassifyVector(keys, bands, ref aboveCount, ref betweenCount, ref destination, ref inside);
        }

        for (; i < bits.Length; i++)
        {
            ClassifyKey(Unsafe.Add(ref first, i) & 0x7FFF_FFFFu, bands, ref aboveCount, ref betweenCount, ref destination,
                ref inside);
        }

        return (aboveCount, betweenCount, inside);
    }

    /// <summary><see cref="Classify"/> of the task vector <c>D(x − b)</c> computed from stored bf16 bits in registers.</summary>
    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe (long Above, long Between, int Inside) ClassifyStored(ushort* x, ushort* b, int count,
        bool roundToBf16, Band top, Band? bottom, uint[] inBand)
    {
        const int Step = 32; // one Vector512<ushort> of each input: two Vector512<float>

        // In bf16 the keys are left unrounded and the band edges moved to match; only the gathered keys are rounded,
        // afterwards. With the one-band shortcut in ClassifyVector: TIES's counting of 3 x 1 GB bf16 models went from
        // 0.50 to 0.36 ns an entry.
        var bands = new BandVectors(top, bottom, unrounded: roundToBf16);
        long aboveCount = 0, betweenCount = 0;
        var inside = 0;
        var i = 0;
        ref var destination = ref MemoryMarshal.GetArrayDataReference(inBand);
        var magnitude = Vector512.Create(0x7FFF_FFFFu);
        for (; i <= count - Step; i += Step)
        {
            var (xLower, xUpper) = Kernels.StoredBf16.Load512(x + i);
            var (bLower, bUpper) = Kernels.StoredBf16.Load512(b + i);
            var lowerKeys = (xLower - bLower).AsUInt32() & magnitude;
            var upperKeys = (xUpper - bUpper).AsUInt32() & magnitude;
            ClassifyVector(lowerKeys, bands, ref aboveCount, ref betweenCount, ref destination, ref inside);
            ClassifyVector(upperKeys, bands, ref aboveCount, ref betweenCount, ref destination, ref inside);
        }

        for (; i < count; i++)
        {
            var delta = BFloat16.ToSingle(x[i]) - BFloat16.ToSingle(b[i]);
            ClassifyKey(BitConverter.SingleToUInt32Bits(delta) & 0x7FFF_FFFFu, bands, ref aboveCount, ref betweenCount,
                ref destination, ref inside);
        }

        return (aboveCount, betweenCount, inside);
    }
}
