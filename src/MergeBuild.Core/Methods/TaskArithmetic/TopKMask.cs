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
        var (inc, exc) = (new Lanes(include), new Lanes(exclude));
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
        var (inc, exc) = (new Lanes(include), new Lanes(exclude));
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

    /// <summary>One selection's state, held in locals for the loop.</summary>
    /// <remarks>
    /// bf16 magnitudes are coarse, so a large tensor has many entries equal to the threshold, spread all through it:
    /// whether a vector holds one is a coin flip the branch predictor loses. The loop therefore takes the equal lanes
    /// without asking (<c>keys ≥ threshold</c>) while the whole vector's equal lanes still fit in <c>TakeEqual</c>,
    /// splits lanes only in the one vector where they stop fitting, and afterwards takes none (<c>keys &gt; threshold</c>):
    /// both tests stay predictable.
    /// </remarks>
    private struct Lanes
    {
        private const int NoneMode = 0, AllMode = 1, TakingMode = 2, ExhaustedMode = 3;
        private readonly long takeEqual;
        private int mode;

        public Lanes(TopKSelection? selection)
        {
            takeEqual = selection?.TakeEqual ?? 0;
            Seen = selection?.Seen ?? 0;
            mode = selection is null || selection.None ? NoneMode
                : selection.All ? AllMode
                : Seen >= takeEqual ? ExhaustedMode : TakingMode;
        }

        /// <summary>Threshold-equal entries visited so far (no longer counted once none can be taken).</summary>
        public long Seen { get; private set; }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<uint> Member(Vector512<uint> keys, Vector512<uint> threshold, Vector512<uint> lanes)
        {
            if (mode == ExhaustedMode)
            {
                return Vector512.GreaterThan(keys, threshold);
            }

            if (mode != TakingMode)
            {
                return mode == AllMode ? Vector512<uint>.AllBitsSet : Vector512<uint>.Zero;
            }

            var equal = Vector512.Equals(keys, threshold);
            var equalBits = (uint)equal.ExtractMostSignificantBits();
            var count = BitOperations.PopCount(equalBits);
            if (Seen + count <= takeEqual)
            {
                Seen += count;
                mode = Seen == takeEqual ? ExhaustedMode : TakingMode;
                return Vector512.GreaterThanOrEqual(keys, threshold);
            }

            var taken = Take(equalBits);
            return Vector512.GreaterThan(keys, threshold) | Vector512.Equals(Vector512.Create(taken) & lanes, lanes);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<uint> Member(Vector256<uint> keys, Vector256<uint> threshold, Vector256<uint> lanes)
        {
            if (mode == ExhaustedMode)
            {
                return Vector256.GreaterThan(keys, threshold);
            }

            if (mode != TakingMode)
            {
                return mode == AllMode ? Vector256<uint>.AllBitsSet : Vector256<uint>.Zero;
            }

            var equal = Vector256.Equals(keys, threshold);
            var equalBits = equal.ExtractMostSignificantBits();
            var count = BitOperations.PopCount(equalBits);
            if (Seen + count <= takeEqual)
            {
                Seen += count;
                mode = Seen == takeEqual ? ExhaustedMode : TakingMode;
                return Vector256.GreaterThanOrEqual(keys, threshold);
            }

            var taken = Take(equalBits);
            return Vector256.GreaterThan(keys, threshold) | Vector256.Equals(Vector256.Create(taken) & lanes, lanes);
        }

        /// <summary>
        /// The vector where the equal lanes stop fitting: the lowest lanes that still fit (a bit mask, lowest lane
        /// first); none are taken after it.
        /// </summary>
        // Inlined although rare: a call in the loop makes the JIT spill every live vector around it on every
        // iteration (measured: the whole mask 4x slower).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private uint Take(uint equalBits)
        {
            var available = takeEqual - Seen;
            Seen += BitOperations.PopCount(equalBits);
            mode = ExhaustedMode;
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
}
