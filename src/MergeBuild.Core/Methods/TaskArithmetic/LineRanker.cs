using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// Ranks the entries of one line by magnitude in <see cref="MagnitudeRanking"/>'s order (rank 1 = smallest |d|; among
/// equal magnitudes the higher index ranks lower), the same ranks as <see cref="MagnitudeRanking.RankLine"/>, by
/// counting instead of comparing.
/// </summary>
/// <remarks>
/// <para>bf16 and float16 keys have at most 15 significant bits (the low 16 or 13 bits of the float32 pattern are
/// zero). When a line's nonzero keys span at most 16384 values — the usual case, task vectors cover a dozen binades —
/// one counting sort ranks it: count the keys (zero in its own bucket), turn the counts into start offsets, then walk
/// the line from its end, so that among equal keys the higher index takes the lower rank.</para>
/// <para>Otherwise (float32, or keys spread too wide) a stable LSD radix sort of (key, index) items laid out by
/// descending index does. Digit counts are taken while the line is read, digits equal for every key are skipped, and
/// the last, most significant digit is 11 bits wide (exponent and top mantissa bits): with fewer buckets nearly all
/// entries would share one and every count update would wait on the last.</para>
/// <para>Both place each entry straight at its rank in their last step, so <see cref="Keep"/> decides DELLA's mask
/// there without writing ranks. One instance per thread; it keeps its buffers between lines.</para>
/// </remarks>
internal sealed class LineRanker
{
    private const int TopShift = 20;
    private const int TopBits = 11;

    /// <summary>Most buckets the one-pass counting sort may clear and sum per line.</summary>
    private const int MaxBuckets = 1 << 14;

    private readonly (int Shift, int Bits)[] digits;
    private readonly int[][] counts;
    private readonly int keyShift;
    private readonly int[] starts = new int[MaxBuckets];
    private int[] buckets = [];
    private ulong[] items = [];
    private ulong[] spare = [];

    /// <param name="dtype">The dtype the values are rounded to (its always-zero low key bits need no counting).</param>
    public LineRanker(DType dtype = DType.F32)
    {
        digits = dtype switch
        {
            DType.BF16 => [(16, 4), (TopShift, TopBits)],
            DType.F16 => [(13, 7), (TopShift, TopBits)],
            _ => [(0, 10), (10, 10), (TopShift, TopBits)],
        };
        counts = digits.Select(d => new int[1 << d.Bits]).ToArray();
        keyShift = dtype switch
        {
            DType.BF16 => 16,
            DType.F16 => 13,
            _ => -1,
        };
    }

    /// <summary>Bytes of the buffers this ranker holds for lines of <paramref name="length"/>.</summary>
    public static long BytesFor(int length) => 20L * length + 3 * 4 * (1 << TopBits) + 4 * MaxBuckets;

    /// <summary>Writes the rank of line entry j (at <paramref name="first"/> + j·<paramref name="stride"/>) into ranks[j].</summary>
    public void Rank(ReadOnlySpan<float> values, int first, int length, int stride, Span<int> ranks)
    {
        if (Count(values, first, length, stride))
        {
            // Equal keys: the higher index takes the lower rank, so place from the end of the line.
            for (var j = length - 1; j >= 0; j--)
            {
                ranks[j] = ++starts[buckets[j]];
            }

            return;
        }

        var last = Sort(values, first, length, stride);
        var source = items.AsSpan(0, length);
        if (last < 0)
        {
            for (var position = 0; position < length; position++)
            {
                ranks[(int)(uint)source[position]] = position + 1;
            }

            return;
        }

        var (shift, bits) = digits[last];
        var offsets = counts[last];
        var mask = (1 << bits) - 1;
        foreach (var item in source)
        {
            ranks[(int)(uint)item] = ++offsets[(int)(item >> (32 + shift)) & mask];
        }
    }

    /// <summary>
    /// DELLA's mask for one line: keep[i] = draws[i] &lt; limits[rank − 1] ? 1 : 0 for each entry i of the line
    /// (i = <paramref name="first"/> + j·<paramref name="stride"/>).
    /// </summary>
    public void Keep(ReadOnlySpan<float> values, int first, int length, int stride, ReadOnlySpan<ulong> draws,
        ReadOnlySpan<ulong> limits, Span<float> keep)
    {
        if (Count(values, first, length, stride))
        {
            KeepByCounts(first, length, stride, draws, limits, keep);
            return;
        }

        var last = Sort(values, first, length, stride);
        var source = items.AsSpan(0, length);
        if (last < 0)
        {
            for (var position = 0; position < length; position++)
            {
                var at = first + (int)(uint)source[position] * stride;
                keep[at] = Below(draws[at], limits[position]);
            }

            return;
        }

        var (shift, bits) = digits[last];
        var offsets = counts[last];
        var mask = (1 << bits) - 1;
        foreach (var item in source)
        {
            var position = offsets[(int)(item >> (32 + shift)) & mask]++;
            var at = first + (int)(uint)item * stride;
            keep[at] = Below(draws[at], limits[position]);
        }
    }

    /// <summary>1f when draw &lt; limit, else 0f, without a branch (the outcome is a coin flip; both are below 2⁶³).</summary>
    private static float Below(ulong draw, ulong limit) =>
        BitConverter.UInt32BitsToSingle((uint)((draw - limit) >> 63) * 0x3F80_0000u);

    /// <summary>
    /// The one-pass counting sort for 16-bit-like keys (bf16, float16): when the keys of the line span at most
    /// <see cref="MaxBuckets"/> values (zero apart), counts them and turns the counts into start offsets
    /// (<see cref="starts"/>), leaving each entry's bucket in <see cref="buckets"/>. Zero gets bucket 0, the smallest
    /// nonzero key bucket 1, and so on.
    /// </summary>
    private bool Count(ReadOnlySpan<float> values, int first, int length, int stride)
    {
        if (keyShift < 0 || length == 0)
        {
            return false;
        }

        var (min, max) = stride == 1 ? Range(values.Slice(first, length)) : RangeStrided(values, first, length, stride);
        if (min == uint.MaxValue)
        {
            min = max;
        }

        min >>= keyShift;
        max >>= keyShift;
        if (max - min + 2 > MaxBuckets)
        {
            return false;
        }

        var size = (int)(max - min) + 2;
        var used = starts.AsSpan(0, size);
        used.Clear();
        FillBuckets(values, first, length, stride, (int)min);
        ref var counts0 = ref MemoryMarshal.GetArrayDataReference(starts);
        foreach (var bucket in buckets.AsSpan(0, length))
        {
            // Inside the cleared counts: the line's key range was taken from these same values.
            Unsafe.Add(ref counts0, bucket)++;
        }

        StartOffsets(used);
        return true;
    }

    /// <summary>
    /// Turns counts into start offsets (an exclusive prefix sum), sixteen buckets at a time where AVX-512 can shift
    /// lanes: a line's key span is often half its length or more, and one bucket at a time the sum was a fifth of
    /// the ranking's time.
    /// </summary>
    private static void StartOffsets(Span<int> counts)
    {
        var offset = 0;
        var i = 0;
        if (Avx512F.IsSupported)
        {
            ref var first = ref MemoryMarshal.GetReference(counts);
            var carried = Vector512<int>.Zero;
            for (; i <= counts.Length - 16; i += 16)
            {
                var own = Vector512.LoadUnsafe(ref first, (nuint)i);
                // Inclusive sums within the vector: add the vector shifted up by 1, 2, 4 and 8 lanes (zeros shifted in).
                var sums = own + Avx512F.AlignRight32(own, Vector512<int>.Zero, 15);
                sums += Avx512F.AlignRight32(sums, Vector512<int>.Zero, 14);
                sums += Avx512F.AlignRight32(sums, Vector512<int>.Zero, 12);
                sums += Avx512F.AlignRight32(sums, Vector512<int>.Zero, 8);
                (carried + sums - own).StoreUnsafe(ref first, (nuint)i);
                carried += Avx512F.PermuteVar16x32(sums, Vector512.Create(15));
            }

            offset = carried.ToScalar();
        }

        foreach (ref var slot in counts[i..])
        {
            (slot, offset) = (offset, offset + slot);
        }
    }

    /// <summary>The smallest nonzero key (uint.MaxValue if none) and the largest key of a contiguous line.</summary>
    private static (uint Min, uint Max) Range(ReadOnlySpan<float> values)
    {
        var i = 0;
        uint min = uint.MaxValue, max = 0;
        if (Vector512.IsHardwareAccelerated && values.Length >= 16)
        {
            var minV = Vector512<uint>.AllBitsSet;
            var maxV = Vector512<uint>.Zero;
            ref var first = ref MemoryMarshal.GetReference(values);
            for (; i <= values.Length - 16; i += 16)
            {
                var keys = Vector512.LoadUnsafe(ref first, (nuint)i).AsUInt32() & Vector512.Create(0x7FFF_FFFFu);
                maxV = Vector512.Max(maxV, keys);
                // Zero keys become all ones, which never win the minimum.
                minV = Vector512.Min(minV, keys | Vector512.Equals(keys, Vector512<uint>.Zero));
            }

            min = LaneExtremes.Min(minV);
            max = LaneExtremes.Max(maxV);
        }

        var (restMin, restMax) = RangeStrided(values, i, values.Length - i, 1);
        return (Math.Min(min, restMin), Math.Max(max, restMax));
    }

    private static (uint Min, uint Max) RangeStrided(ReadOnlySpan<float> values, int first, int length, int stride)
    {
        uint min = uint.MaxValue, max = 0;
        for (var j = 0; j < length; j++)
        {
            var key = MagnitudeRanking.Key(values[first + j * stride]);
            max = Math.Max(max, key);
            min = Math.Min(min, key == 0 ? uint.MaxValue : key);
        }

        return (min, max);
    }

    /// <summary>The counting bucket of a value: 0 for a zero key, else (key &gt;&gt; shift) − lowest + 1, the offset being 1 − lowest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Bucket(float value, int shift, int offset)
    {
        var bucket = (int)(MagnitudeRanking.Key(value) >> shift) + offset;
        return bucket & ~(bucket >> 31);
    }

    /// <summary>
    /// Writes each entry's counting bucket (<see cref="Bucket"/>) into <see cref="buckets"/>, vectorized for
    /// contiguous lines. Computed once per line for both of its walks, which are then one increment per entry each
    /// (counting, then ranking): computed inside them through spans and fields, the JIT checked four bounds per entry
    /// and reloaded <c>lowest</c> and the shift from memory (25 and 43 instructions an entry).
    /// </summary>
    private void FillBuckets(ReadOnlySpan<float> values, int first, int length, int stride, int lowest)
    {
        if (buckets.Length < length)
        {
            buckets = new int[length];
        }

        LastIndex(values.Length, first, length, stride);
        ref var value = ref Unsafe.Add(ref MemoryMarshal.GetReference(values), first);
        ref var bucket0 = ref MemoryMarshal.GetArrayDataReference(buckets);
        var (shift, offset) = (keyShift, 1 - lowest);
        var j = 0;
        if (stride == 1 && Vector256.IsHardwareAccelerated)
        {
            var offsets = Vector256.Create(offset);
            for (; j <= length - Vector256<int>.Count; j += Vector256<int>.Count)
            {
                var keys = Vector256.LoadUnsafe(ref value, (nuint)j).AsUInt32() & Vector256.Create(0x7FFF_FFFFu);
                var bucket = Vector256.ShiftRightLogical(keys, shift).AsInt32() + offsets;
                Vector256.Max(bucket, Vector256<int>.Zero).StoreUnsafe(ref bucket0, (nuint)j);
            }
        }

        for (; j < length; j++)
        {
            Unsafe.Add(ref bucket0, j) = Bucket(Unsafe.Add(ref value, j * stride), shift, offset);
        }
    }

    /// <summary>
    /// <see cref="Keep"/> after <see cref="Count"/>: walks the line from its end (among equal keys the higher index
    /// takes the lower rank), each entry taking the next rank of its bucket, then compares each entry's draw with the
    /// limit of its rank. Ranks stay below the line's length because the start offsets came from counting this line.
    /// </summary>
    /// <remarks>
    /// Two loops: the walk is a chain of increments that only a scalar loop can do, but the lookup and the compare
    /// vectorize (a gather of eight limits by rank); done in the walk they were two thirds of its instructions.
    /// </remarks>
    private unsafe void KeepByCounts(int first, int length, int stride, ReadOnlySpan<ulong> draws,
        ReadOnlySpan<ulong> limits, Span<float> keep)
    {
        LastIndex(Math.Min(draws.Length, keep.Length), first, length, stride);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.Length, length, nameof(limits));
        ref var starts0 = ref MemoryMarshal.GetArrayDataReference(starts);
        ref var rank0 = ref MemoryMarshal.GetArrayDataReference(buckets);
        for (var j = length - 1; j >= 0; j--)
        {
            // The bucket's next rank takes the bucket's place.
            ref var slot = ref Unsafe.Add(ref rank0, j);
            slot = Unsafe.Add(ref starts0, slot)++;
        }

        ref var draw = ref Unsafe.Add(ref MemoryMarshal.GetReference(draws), first);
        ref var kept = ref Unsafe.Add(ref MemoryMarshal.GetReference(keep), first);
        var done = 0;
        if (stride == 1 && Avx2.IsSupported)
        {
            fixed (ulong* limit = limits)
            {
                for (; done <= length - 8; done += 8)
                {
                    // Draws are below 2⁵³ and limits at most 2⁵³, so the signed compare is the unsigned one.
                    var low = Avx2.GatherVector256(limit, Vector128.LoadUnsafe(ref rank0, (nuint)done), 8);
                    var high = Avx2.GatherVector256(limit, Vector128.LoadUnsafe(ref rank0, (nuint)done + 4), 8);
                    var below = Vector256.Narrow(
                        Vector256.LessThan(Vector256.LoadUnsafe(ref draw, (nuint)done).AsInt64(), low.AsInt64()),
                        Vector256.LessThan(Vector256.LoadUnsafe(ref draw, (nuint)done + 4).AsInt64(), high.AsInt64()));
                    (below & Vector256.Create(1f).AsInt32()).AsSingle().StoreUnsafe(ref kept, (nuint)done);
                }
            }
        }

        ref var limit0 = ref MemoryMarshal.GetReference(limits);
        for (var j = done; j < length; j++)
        {
            var at = j * stride;
            Unsafe.Add(ref kept, at) = Below(Unsafe.Add(ref draw, at), Unsafe.Add(ref limit0, Unsafe.Add(ref rank0, j)));
        }
    }

    /// <summary>The flat index of a line's last entry, checked once against the spans it indexes.</summary>
    private static int LastIndex(int available, int first, int length, int stride)
    {
        var last = first + (long)(length - 1) * stride;
        if (first < 0 || stride < 1 || last >= available)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "The line runs past the values it ranks.");
        }

        return (int)last;
    }

    /// <summary>
    /// Reads the line as (key, index) items, counts its digits and sorts by every varying digit but the last, leaving
    /// the items in <see cref="items"/>; returns the last varying digit (its counts turned into start offsets), or −1
    /// when all keys are equal.
    /// </summary>
    private int Sort(ReadOnlySpan<float> values, int first, int length, int stride)
    {
        if (items.Length < length)
        {
            items = new ulong[length];
            spare = new ulong[length];
        }

        var source = items.AsSpan(0, length);
        foreach (var digitCounts in counts)
        {
            Array.Clear(digitCounts);
        }

        var lowShift = digits[0].Shift;
        var lowMask = (1 << digits[0].Bits) - 1;
        var low = counts[0];
        var top = counts[^1];
        var middle = digits.Length == 3 ? counts[1] : null;
        for (var t = 0; t < length; t++)
        {
            var j = length - 1 - t;
            var key = MagnitudeRanking.Key(values[first + j * stride]);
            source[t] = ((ulong)key << 32) | (uint)j;
            low[(int)(key >> lowShift) & lowMask]++;
            top[(int)(key >> TopShift)]++;
            if (middle is not null)
            {
                middle[(int)(key >> 10) & 0x3FF]++;
            }
        }

        // Which digits vary: those whose counts are not all in one bucket; their counts become start offsets.
        Span<int> varying = stackalloc int[3];
        var passes = 0;
        var firstKey = length > 0 ? (uint)(source[0] >> 32) : 0;
        for (var digit = 0; digit < digits.Length; digit++)
        {
            var (shift, bits) = digits[digit];
            var digitCounts = counts[digit];
            if (digitCounts[(int)(firstKey >> shift) & ((1 << bits) - 1)] == length)
            {
                continue;
            }

            var offset = 0;
            for (var bucket = 0; bucket < digitCounts.Length; bucket++)
            {
                (digitCounts[bucket], offset) = (offset, offset + digitCounts[bucket]);
            }

            varying[passes++] = digit;
        }

        var target = spare.AsSpan(0, length);
        for (var p = 0; p < passes - 1; p++)
        {
            var (shift, bits) = digits[varying[p]];
            var offsets = counts[varying[p]];
            var mask = (1 << bits) - 1;
            foreach (var item in source)
            {
                target[offsets[(int)(item >> (32 + shift)) & mask]++] = item;
            }

            (items, spare) = (spare, items);
            var swap = source;
            source = target;
            target = swap;
        }

        return passes == 0 ? -1 : varying[passes - 1];
    }
}
