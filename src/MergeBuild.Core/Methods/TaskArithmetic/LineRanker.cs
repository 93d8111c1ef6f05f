using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// Ranks the entries of one line by magnitude in <see cref="MagnitudeRanking"/>'s order (rank 1 = smallest |d|; among
/// equal magnitudes the higher index ranks lower), the same ranks as <see cref="MagnitudeRanking.RankLine"/>, by a
/// stable LSD radix sort instead of a comparison sort.
/// </summary>
/// <remarks>
/// The entries are laid out by descending index and sorted stably by key, so equal keys keep the higher index first.
/// Digit counts are taken while the line is read, and only the 8-bit digits that differ between keys are sorted:
/// two passes for bf16 values (their low 16 bits are zero), three for float16, up to four for float32. The last pass
/// places each entry straight at its rank, so <see cref="Keep"/> decides DELLA's mask there without writing the
/// sorted line back. One instance per thread; it keeps its buffers between lines.
/// </remarks>
internal sealed class LineRanker
{
    private readonly int firstDigit;
    private readonly int[] counts = new int[4 * 256];
    private ulong[] items = [];
    private ulong[] spare = [];

    /// <param name="dtype">The dtype the values are rounded to: bf16 and float16 have digits that are always zero.</param>
    public LineRanker(DType dtype = DType.F32)
    {
        firstDigit = dtype switch
        {
            DType.BF16 => 2,
            DType.F16 => 1,
            _ => 0,
        };
    }

    /// <summary>Bytes of the buffers this ranker holds for lines of <paramref name="length"/>.</summary>
    public static long BytesFor(int length) => 16L * length + 4 * 256 * 4;

    /// <summary>Writes the rank of line entry j (at <paramref name="first"/> + j·<paramref name="stride"/>) into ranks[j].</summary>
    public void Rank(ReadOnlySpan<float> values, int first, int length, int stride, Span<int> ranks)
    {
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

        var offsets = counts.AsSpan(last * 256, 256);
        var shift = 32 + 8 * last;
        foreach (var item in source)
        {
            ranks[(int)(uint)item] = ++offsets[(int)(item >> shift) & 0xFF];
        }
    }

    /// <summary>
    /// DELLA's mask for one line: keep[i] = draws[i] &lt; limits[rank − 1] ? 1 : 0 for each entry i of the line
    /// (i = <paramref name="first"/> + j·<paramref name="stride"/>).
    /// </summary>
    public void Keep(ReadOnlySpan<float> values, int first, int length, int stride, ReadOnlySpan<ulong> draws,
        ReadOnlySpan<ulong> limits, Span<float> keep)
    {
        var last = Sort(values, first, length, stride);
        var source = items.AsSpan(0, length);
        if (last < 0)
        {
            for (var position = 0; position < length; position++)
            {
                var at = first + (int)(uint)source[position] * stride;
                keep[at] = draws[at] < limits[position] ? 1f : 0f;
            }

            return;
        }

        var offsets = counts.AsSpan(last * 256, 256);
        var shift = 32 + 8 * last;
        foreach (var item in source)
        {
            var position = offsets[(int)(item >> shift) & 0xFF]++;
            var at = first + (int)(uint)item * stride;
            keep[at] = draws[at] < limits[position] ? 1f : 0f;
        }
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
        var target = spare.AsSpan(0, length);
        Array.Clear(counts);
        var c0 = counts.AsSpan(0, 256);
        var c1 = counts.AsSpan(256, 256);
        var c2 = counts.AsSpan(512, 256);
        var c3 = counts.AsSpan(768, 256);
        for (var t = 0; t < length; t++)
        {
            var j = length - 1 - t;
            var key = MagnitudeRanking.Key(values[first + j * stride]);
            source[t] = ((ulong)key << 32) | (uint)j;
            c3[(int)(key >> 24)]++;
            c2[(int)(key >> 16) & 0xFF]++;
            if (firstDigit <= 1)
            {
                c1[(int)(key >> 8) & 0xFF]++;
                if (firstDigit == 0)
                {
                    c0[(int)key & 0xFF]++;
                }
            }
        }

        // Which digits vary: those whose counts are not all in one bucket.
        Span<int> varying = stackalloc int[4];
        var passes = 0;
        var firstKey = length > 0 ? (uint)(source[0] >> 32) : 0;
        for (var digit = firstDigit; digit < 4; digit++)
        {
            var digitCounts = counts.AsSpan(digit * 256, 256);
            if (digitCounts[(int)(firstKey >> (8 * digit)) & 0xFF] == length)
            {
                continue;
            }

            var offset = 0;
            for (var bucket = 0; bucket < 256; bucket++)
            {
                (digitCounts[bucket], offset) = (offset, offset + digitCounts[bucket]);
            }

            varying[passes++] = digit;
        }

        for (var p = 0; p < passes - 1; p++)
        {
            var offsets = counts.AsSpan(varying[p] * 256, 256);
            var shift = 32 + 8 * varying[p];
            foreach (var item in source)
            {
                target[offsets[(int)(item >> shift) & 0xFF]++] = item;
            }

            (items, spare) = (spare, items);
            var swap = source;
            source = target;
            target = swap;
        }

        return passes == 0 ? -1 : varying[passes - 1];
    }
}
