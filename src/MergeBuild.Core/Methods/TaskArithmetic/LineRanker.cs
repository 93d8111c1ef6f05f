namespace MergeBuild.Methods;

/// <summary>
/// Ranks the entries of one line by magnitude in <see cref="MagnitudeRanking"/>'s order (rank 1 = smallest |d|; among
/// equal magnitudes the higher index ranks lower), the same ranks as <see cref="MagnitudeRanking.RankLine"/>, by a
/// stable LSD radix sort instead of a comparison sort.
/// </summary>
/// <remarks>
/// The entries are laid out by descending index and sorted stably by key, so equal keys keep the higher index first.
/// Only the 8-bit digits that differ between keys are sorted: two passes for bf16 values (the low 16 bits are zero),
/// three for float16, up to four for float32. One instance per thread; it keeps its buffers between lines.
/// </remarks>
internal sealed class LineRanker
{
    private readonly int[] counts = new int[256];
    private ulong[] items = [];
    private ulong[] spare = [];

    /// <summary>Bytes of the buffers this ranker holds for lines of <paramref name="length"/>.</summary>
    public static long BytesFor(int length) => 16L * length + 256 * 4;

    /// <summary>Writes the rank of line entry j (at <paramref name="first"/> + j·<paramref name="stride"/>) into ranks[j].</summary>
    public void Rank(ReadOnlySpan<float> values, int first, int length, int stride, Span<int> ranks)
    {
        if (items.Length < length)
        {
            items = new ulong[length];
            spare = new ulong[length];
        }

        uint any = 0, all = uint.MaxValue;
        var source = items.AsSpan(0, length);
        for (var t = 0; t < length; t++)
        {
            var j = length - 1 - t;
            var key = MagnitudeRanking.Key(values[first + j * stride]);
            any |= key;
            all &= key;
            source[t] = ((ulong)key << 32) | (uint)j;
        }

        var target = spare.AsSpan(0, length);
        var varying = any ^ all;
        for (var shift = 32; shift < 64; shift += 8)
        {
            if (((varying >> (shift - 32)) & 0xFF) == 0)
            {
                continue;
            }

            Array.Clear(counts);
            foreach (var item in source)
            {
                counts[(int)(item >> shift) & 0xFF]++;
            }

            var offset = 0;
            for (var digit = 0; digit < counts.Length; digit++)
            {
                (counts[digit], offset) = (offset, offset + counts[digit]);
            }

            foreach (var item in source)
            {
                target[counts[(int)(item >> shift) & 0xFF]++] = item;
            }

            var swap = source;
            source = target;
            target = swap;
        }

        for (var position = 0; position < length; position++)
        {
            ranks[(int)(uint)source[position]] = position + 1;
        }
    }
}
