using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// The output pass of the sparsified task-vector merges (TIES, breadcrumbs, breadcrumbs-TIES, DARE and DELLA) from the
/// stored bf16 bits of the fine-tunes and the base straight to the output's stored bf16 bits, every value in
/// registers: each model's task vector <c>dᵢ = D(xᵢ − b)</c>, its mask (a magnitude selection,
/// <see cref="SelectionLanes"/>, or a random keep mask with its L1 rescale, <see cref="RandomMask"/>), the weighting,
/// then either the sign election and the agreeing sum or the plain sum (<see cref="TaskVectorMix"/>), normalization, λ
/// and the base.
/// </summary>
/// <remarks>
/// <para>The same operations in the same order as <see cref="StoredDifference"/>, <see cref="TopKMask.Apply"/>,
/// <see cref="BitMask.Apply"/> or <see cref="RandomKeep.Apply"/>, <see cref="L1Rescale.Scale"/>,
/// <see cref="TaskVectorMix.Mix"/> and encoding, which it replaces where AVX-512 is available (without it,
/// <see cref="Compute"/> does nothing and the caller runs those). For TIES those four passes over a chunk took 2.2-2.5 ns per
/// element of a three-model merge, most of it moving float32 task vectors through the cache; in registers the whole
/// output pass is one read of each input and one write.</para>
/// <para>The vote is summed with plain adds: only its sign is used, and a NaN sum elects − whatever its payload. The
/// plain sum, whose NaNs reach the output, follows the vector mixer's rule (the first operand's NaN). Weights and λ
/// must be finite, as the vector mixer needs.</para>
/// </remarks>
internal static unsafe class StoredMaskedMix
{
    /// <summary>One model's magnitude selections: the entries kept and, for breadcrumbs, the outliers dropped from them.</summary>
    /// <param name="Include">The entries kept; null keeps every entry (a model used whole).</param>
    /// <param name="Exclude">The entries dropped from those, or null.</param>
    public readonly record struct Mask(TopKSelection? Include, TopKSelection? Exclude);

    /// <summary>
    /// One model's random keep mask over the chunk (DARE's, DELLA's) and the L1 rescale of the kept entries: the bits
    /// the statistics pass kept, or DARE's draws made in registers (<see cref="RandomKeep"/>).
    /// </summary>
    /// <param name="Words">The address of the chunk's keep bits as 16-bit words (bit b of word k: element 16k + b, as
    /// <see cref="BitMask.Words"/> gives them), or 0.</param>
    /// <param name="Draws">Without bits: whether the mask is drawn (entry j kept when its draw is below the limit).</param>
    /// <param name="Key">The draws' key (<see cref="CounterRandom"/>).</param>
    /// <param name="Limit">The draws' limit (<see cref="RandomKeep.Limit"/>).</param>
    /// <param name="Start">The flat index of the chunk's first entry (the draws' counter).</param>
    /// <param name="Rescales">Whether the kept entries are scaled.</param>
    /// <param name="Scale">The factor, rounded to the compute dtype; not NaN.</param>
    public readonly record struct RandomMask(nint Words, bool Draws, ulong Key, ulong Limit, long Start, bool Rescales,
        float Scale)
    {
        /// <summary>Kept bits at <paramref name="words"/>, scaled by <paramref name="scale"/> unless it is null.</summary>
        public static RandomMask FromBits(nint words, float? scale) => new(words, false, 0, 0, 0, scale.HasValue, scale ?? 1);

        /// <summary>Draws for the chunk starting at flat index <paramref name="start"/>, scaled unless null.</summary>
        public static RandomMask FromDraws(CounterRandom random, long start, ulong limit, float? scale) =>
            new(0, true, random.Key, limit, start, scale.HasValue, scale ?? 1);
    }

    /// <summary>What stays fixed for a tensor.</summary>
    /// <param name="RoundToBf16">True when the compute dtype is bf16, false for float32.</param>
    /// <param name="Consensus">TIES sign election before summing.</param>
    /// <param name="Normalize">Divide by the (agreeing) models' summed weights.</param>
    /// <param name="LinearDivisor">Without consensus, the divisor (<see cref="TaskVectorMix.LinearDivisor"/>).</param>
    /// <param name="ApplyLambda">Scale the merged task vector (λ ≠ 1).</param>
    /// <param name="Lambda">The scale.</param>
    public readonly record struct Settings(bool RoundToBf16, bool Consensus, bool Normalize, float LinearDivisor,
        bool ApplyLambda, float Lambda);

    /// <summary>
    /// Computes the leading elements of a chunk, a multiple of 32, and advances the selections' counts past them;
    /// returns how many (0 without AVX-512). The caller computes the rest, in order, the unfused way.
    /// </summary>
    /// <param name="fineTunes">The address of each fine-tune's first stored bf16 value, in recipe order.</param>
    /// <param name="baseModel">The address of the base model's first stored bf16 value.</param>
    /// <param name="masks">One per fine-tune.</param>
    /// <param name="kept">Empty, or one per fine-tune: where it has bits or draws, that model's mask instead of
    /// <paramref name="masks"/>' (which must then select everything).</param>
    /// <param name="weights">One per fine-tune, rounded to the compute dtype, finite.</param>
    /// <param name="count">Elements in the chunk.</param>
    /// <param name="settings">Rounding, normalization and λ.</param>
    /// <param name="output">The output's stored bf16 values.</param>
    public static int Compute(ReadOnlySpan<nint> fineTunes, nint baseModel, ReadOnlySpan<Mask> masks,
        ReadOnlySpan<RandomMask> kept, ReadOnlySpan<float> weights, int count, Settings settings, Span<ushort> output)
    {
        if (!Avx512F.IsSupported || !Vector512.IsHardwareAccelerated || fineTunes.Length == 0)
        {
            return 0;
        }

        if (masks.Length != fineTunes.Length || weights.Length != fineTunes.Length ||
            !(kept.IsEmpty || kept.Length == fineTunes.Length))
        {
            throw new ArgumentException("One mask and one weight per fine-tune are needed.", nameof(masks));
        }

        // Models without a random mask (every one, when none is given) are masked by their selections.
        Span<RandomMask> random = stackalloc RandomMask[fineTunes.Length];
        kept.CopyTo(random);

        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, count, nameof(output));
        var models = fineTunes.Length;
        Span<SelectionLanes> include = stackalloc SelectionLanes[models];
        Span<SelectionLanes> exclude = stackalloc SelectionLanes[models];
        Span<uint> includeAt = stackalloc uint[models];
        Span<uint> excludeAt = stackalloc uint[models];
        for (var m = 0; m < models; m++)
        {
            include[m] = masks[m].Include is { } selected ? new SelectionLanes(selected) : SelectionLanes.Everything;
            exclude[m] = new SelectionLanes(masks[m].Exclude);
            includeAt[m] = masks[m].Include?.Threshold ?? 0;
            excludeAt[m] = masks[m].Exclude?.Threshold ?? 0;
        }

        int done;
        fixed (ushort* destination = output)
        {
            done = Loop512(fineTunes, (ushort*)baseModel, include, exclude, includeAt, excludeAt, random, weights, count,
                settings, destination);
        }

        for (var m = 0; m < models; m++)
        {
            masks[m].Include?.Seen = include[m].Seen;
            masks[m].Exclude?.Seen = exclude[m].Seen;
        }

        return done;
    }

    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Loop512(ReadOnlySpan<nint> fineTunes, ushort* baseModel, Span<SelectionLanes> include,
        Span<SelectionLanes> exclude, ReadOnlySpan<uint> includeAt, ReadOnlySpan<uint> excludeAt,
        ReadOnlySpan<RandomMask> kept, ReadOnlySpan<float> weights, int count, Settings s, ushort* output)
    {
        const int Step = 32; // one Vector512<ushort> of each input: two Vector512<float>
        var models = fineTunes.Length;
        var bf16 = s.RoundToBf16;
        var lookUp = s.Consensus && models <= 4;
        Span<float> divisors = stackalloc float[16];
        TaskVectorMix.DivisorTable(lookUp ? weights : [], bf16, divisors);
        var table = Vector512.Create<float>(divisors);
        var floor = Vector512.Create(TaskVectorMix.VoteFloor(bf16));
        var lambda = Vector512.Create(s.Lambda);
        var linearDivisor = Vector512.Create(s.LinearDivisor);
        var lanes = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u);
        var upperLanes = Vector512.ShiftLeft(lanes, 16);
        var excluding = false;
        Span<RandomKeep.DrawBound> bounds = stackalloc RandomKeep.DrawBound[models];
        for (var m = 0; m < models; m++)
        {
            excluding |= exclude[m].Selects;
            bounds[m] = RandomKeep.DrawBound.Of(kept[m].Limit);
        }

        // The weighted, masked task vectors of the current 32 elements (lower and upper half per model), for the
        // second look after the vote (consensus only).
        Span<Vector512<float>> terms = stackalloc Vector512<float>[2 * models];
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var (baseLower, baseUpper) = StoredBf16.Load512(baseModel + i);
            // With consensus the sum is the vote; otherwise the merged task vector.
            Vector512<float> sumLower = default, sumUpper = default;
            for (var m = 0; m < models; m++)
            {
                var (lower, upper) = StoredBf16.Load512((ushort*)fineTunes[m] + i);
                lower = Rounding.Bf16OfBf16MathIf(bf16, lower - baseLower);
                upper = Rounding.Bf16OfBf16MathIf(bf16, upper - baseUpper);
                if (kept[m].Words != 0)
                {
                    // Two 16-bit words: the lower half's bits, then the upper half's.
                    var word = Vector512.Create(*(uint*)((ushort*)kept[m].Words + (i >> 4)));
                    lower = KeptOnly(lower, Vector512.Equals(word & lanes, lanes), kept[m], bf16);
                    upper = KeptOnly(upper, Vector512.Equals(word & upperLanes, upperLanes), kept[m], bf16);
                }
                else if (kept[m].Draws)
                {
                    var state = RandomKeep.State512(kept[m].Key, kept[m].Start + i);
                    lower = KeptOnly(lower, RandomKeep.Keep16(state, bounds[m]), kept[m], bf16);
                    upper = KeptOnly(upper, RandomKeep.Keep16(RandomKeep.Skip16(state), bounds[m]), kept[m], bf16);
                }
                else
                {
                    var at = Vector512.Create(includeAt[m]);
                    var outlierAt = Vector512.Create(excludeAt[m]);
                    lower = Masked(lower, ref include[m], ref exclude[m], at, outlierAt, excluding, lanes);
                    upper = Masked(upper, ref include[m], ref exclude[m], at, outlierAt, excluding, lanes);
                }

                lower = TaskVectorMix.Weighted(lower, weights[m], bf16);
                upper = TaskVectorMix.Weighted(upper, weights[m], bf16);
                if (s.Consensus)
                {
                    terms[2 * m] = lower;
                    terms[2 * m + 1] = upper;
                }

                (sumLower, sumUpper) = m == 0 ? (lower, upper)
                    : s.Consensus ? (sumLower + lower, sumUpper + upper)
                    : (TaskVectorMix.AddFirst(sumLower, lower), TaskVectorMix.AddFirst(sumUpper, upper));
            }

            // With consensus, term m's halves are at terms[2m] and terms[2m + 1].
            var (first, second) = s.Consensus
                ? (TaskVectorMix.Agreeing(terms, 2, 0, Vector512.GreaterThanOrEqual(sumLower, floor), weights, lookUp,
                        table, bf16),
                    TaskVectorMix.Agreeing(terms, 2, 1, Vector512.GreaterThanOrEqual(sumUpper, floor), weights, lookUp,
                        table, bf16))
                : ((Rounding.Bf16OfBf16MathIf(bf16, sumLower), linearDivisor),
                    (Rounding.Bf16OfBf16MathIf(bf16, sumUpper), linearDivisor));
            StoredBf16.Store512(output + i, Finish(first, baseLower, s, lambda), Finish(second, baseUpper, s, lambda));
        }

        return i;
    }

    /// <summary><c>d · (selected ? 1 : 0)</c>, as <see cref="TopKMask"/> masks (a dropped negative entry becomes −0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Masked(Vector512<float> delta, ref SelectionLanes include, ref SelectionLanes exclude,
        Vector512<uint> includeAt, Vector512<uint> excludeAt, bool excluding, Vector512<uint> lanes)
    {
        var keys = delta.AsUInt32() & Vector512.Create(0x7FFF_FFFFu);
        var keep = include.Member(keys, includeAt, lanes);
        if (excluding)
        {
            keep = Vector512.AndNot(keep, exclude.Member(keys, excludeAt, lanes));
        }

        return delta * Vector512.ConditionalSelect(keep.AsSingle(), Vector512<float>.One, Vector512<float>.Zero);
    }

    /// <summary>
    /// <c>D(d · (kept ? 1 : 0) · scale)</c>, as <see cref="BitMask.Apply"/> and <see cref="L1Rescale.Scale"/> compute it
    /// (a dropped negative entry becomes −0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> KeptOnly(Vector512<float> delta, Vector512<uint> keep, RandomMask kept, bool bf16)
    {
        delta *= Vector512.ConditionalSelect(keep.AsSingle(), Vector512<float>.One, Vector512<float>.Zero);
        return kept.Rescales ? Rounding.Bf16OfBf16MathIf(bf16, delta * Vector512.Create(kept.Scale)) : delta;
    }

    /// <summary>normalize, λ and the base, rounded to bf16 for storing: <c>D(b + D(D(mixed / divisor) · λ))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish((Vector512<float> Sum, Vector512<float> Divisor) agreeing, Vector512<float> b,
        Settings s, Vector512<float> lambda)
    {
        var mixed = agreeing.Sum;
        if (s.Normalize)
        {
            mixed = Rounding.Bf16OfBf16MathIf(s.RoundToBf16, mixed / agreeing.Divisor);
        }

        if (s.ApplyLambda)
        {
            mixed = Rounding.Bf16OfBf16MathIf(s.RoundToBf16, mixed * lambda);
        }

        // Rounded to the compute dtype, then (float32 compute) to bf16 by the output encoding: bf16 rounds once.
        return Rounding.Bf16(TaskVectorMix.AddFirst(mixed, b));
    }
}
