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
            i = Apply512(values, include, exclude);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            i = Apply256(values, include, exclude);
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

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Apply512(Span<float> values, TopKSelection include, TopKSelection? exclude)
    {
        var lanes = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u);
        var (inc, exc) = (new SelectionLanes(include), new SelectionLanes(exclude));
        var includeAt = Vector512.Create(include.Threshold);
        var excludeAt = Vector512.Create(exclude?.Threshold ?? 0);
        var i = 0;
        for (; i <= values.Length - 16; i += 16)
        {
            var slice = values.Slice(i, 16);
            var data = Vector512.Create(slice);
            var keys = data.AsUInt32() & Vector512.Create(AbsMask);
            var keep = inc.Member(keys, includeAt, lanes);
            if (exclude is not null)
            {
                keep = Vector512.AndNot(keep, exc.Member(keys, excludeAt, lanes));
            }

            (data * Vector512.ConditionalSelect(keep.AsSingle(), Vector512<float>.One, Vector512<float>.Zero)).CopyTo(slice);
        }

        include.Seen = inc.Seen;
        exclude?.Seen = exc.Seen;
        return i;
    }

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Apply256(Span<float> values, TopKSelection include, TopKSelection? exclude)
    {
        var lanes = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u);
        var (inc, exc) = (new SelectionLanes(include), new SelectionLanes(exclude));
        var includeAt = Vector256.Create(include.Threshold);
        var excludeAt = Vector256.Create(exclude?.Threshold ?? 0);
        var i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            var slice = values.Slice(i, 8);
            var data = Vector256.Create(slice);
            var keys = data.AsUInt32() & Vector256.Create(AbsMask);
            var keep = inc.Member(keys, includeAt, lanes);
            if (exclude is not null)
            {
                keep = Vector256.AndNot(keep, exc.Member(keys, excludeAt, lanes));
            }

            (data * Vector256.ConditionalSelect(keep.AsSingle(), Vector256<float>.One, Vector256<float>.Zero)).CopyTo(slice);
        }

        include.Seen = inc.Seen;
        exclude?.Seen = exc.Seen;
        return i;
    }
}
