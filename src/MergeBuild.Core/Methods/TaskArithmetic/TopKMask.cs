using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Methods;

/// <summary>
/// Applies magnitude selections to a chunk, vectorized: <c>values[i] *= (in include and not in exclude) ? 1 : 0</c>,
/// with the entries visited in index order so the selections' running counts of threshold-equal keys advance exactly
/// as <see cref="MagnitudeRanking.MarkTop"/> marks them over the whole tensor.
/// </summary>
internal static class TopKMask
{
    private const uint AbsMask = 0x7FFF_FFFF;

    /// <summary>Masks <paramref name="values"/> (the next chunk of the tensor in index order).</summary>
    public static void Apply(Span<float> values, TopKSelection include, TopKSelection? exclude)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var lanes = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u);
            for (; i <= values.Length - 16; i += 16)
            {
                var slice = values.Slice(i, 16);
                var data = Vector512.Create(slice);
                var keys = data.AsUInt32() & Vector512.Create(AbsMask);
                var keep = Member(include, keys, lanes);
                if (exclude is not null)
                {
                    keep = Vector512.AndNot(keep, Member(exclude, keys, lanes));
                }

                (data * Vector512.ConditionalSelect(keep.AsSingle(), Vector512<float>.One, Vector512<float>.Zero)).CopyTo(slice);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u);
            for (; i <= values.Length - 8; i += 8)
            {
                var slice = values.Slice(i, 8);
                var data = Vector256.Create(slice);
                var keys = data.AsUInt32() & Vector256.Create(AbsMask);
                var keep = Member(include, keys, lanes);
                if (exclude is not null)
                {
                    keep = Vector256.AndNot(keep, Member(exclude, keys, lanes));
                }

                (data * Vector256.ConditionalSelect(keep.AsSingle(), Vector256<float>.One, Vector256<float>.Zero)).CopyTo(slice);
            }
        }

        for (; i < values.Length; i++)
        {
            var key = MagnitudeRanking.Key(values[i]);
            // Both selections see every entry: each counts its own threshold-equal keys.
            var included = include.Select(key);
            var excluded = exclude?.Select(key) ?? false;
            values[i] *= included && !excluded ? 1f : 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Member(TopKSelection selection, Vector512<uint> keys, Vector512<uint> lanes)
    {
        if (selection.None || selection.All)
        {
            return selection.All ? Vector512<uint>.AllBitsSet : Vector512<uint>.Zero;
        }

        var threshold = Vector512.Create(selection.Threshold);
        var above = Vector512.GreaterThan(keys, threshold);
        var equal = Vector512.Equals(keys, threshold);
        var equalBits = (uint)equal.ExtractMostSignificantBits();
        if (equalBits == 0)
        {
            return above;
        }

        var taken = Take(selection, equalBits);
        return taken == equalBits
            ? above | equal
            : above | Vector512.Equals(Vector512.Create(taken) & lanes, lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Member(TopKSelection selection, Vector256<uint> keys, Vector256<uint> lanes)
    {
        if (selection.None || selection.All)
        {
            return selection.All ? Vector256<uint>.AllBitsSet : Vector256<uint>.Zero;
        }

        var threshold = Vector256.Create(selection.Threshold);
        var above = Vector256.GreaterThan(keys, threshold);
        var equal = Vector256.Equals(keys, threshold);
        var equalBits = equal.ExtractMostSignificantBits();
        if (equalBits == 0)
        {
            return above;
        }

        var taken = Take(selection, equalBits);
        return taken == equalBits
            ? above | equal
            : above | Vector256.Equals(Vector256.Create(taken) & lanes, lanes);
    }

    /// <summary>Of the equal-key lanes (a bit mask, lowest lane first), those still within TakeEqual; counts them all as seen.</summary>
    private static uint Take(TopKSelection selection, uint equalBits)
    {
        var count = BitOperations.PopCount(equalBits);
        var available = selection.TakeEqual - selection.Seen;
        selection.Seen += count;
        if (available >= count)
        {
            return equalBits;
        }

        var taken = 0u;
        for (; available > 0; available--)
        {
            var lowest = equalBits & (uint)-(int)equalBits;
            taken |= lowest;
            equalBits ^= lowest;
        }

        return taken;
    }
}
