using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// <see cref="CounterRandom"/>'s draws for a run of consecutive flat indices, eight or sixteen at a time, and the
/// keep test <c>Uniform(j) &lt; p</c> done on integers so it is exact and vectorizes.
/// </summary>
/// <remarks>
/// <c>Uniform(j) = n·2⁻⁵³</c> with <c>n = z &gt;&gt; 11 &lt; 2⁵³</c>, both exactly representable, so for any double p
/// <c>Uniform(j) &lt; p ⇔ n &lt; ⌈p·2⁵³⌉</c> (<see cref="Limit"/>). The element's draw depends only on its global index,
/// never on the chunk it arrives in.
/// </remarks>
internal static unsafe class RandomKeep
{
    private const ulong Golden = 0x9E3779B97F4A7C15;
    private const ulong Mix1 = 0xBF58476D1CE4E5B9;
    private const ulong Mix2 = 0x94D049BB133111EB;

    /// <summary>The integer bound n must stay under for a keep probability <paramref name="p"/>.</summary>
    public static ulong Limit(double p) => p <= 0 ? 0 : p >= 1 ? 1UL << 53 : (ulong)Math.Ceiling(p * 9007199254740992.0);

    /// <summary>The 53-bit draw n of one element (what <see cref="CounterRandom.Uniform"/> scales by 2⁻⁵³).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Draw(ulong key, long index)
    {
        unchecked
        {
            var z = key + ((ulong)index + 1) * Golden;
            z = (z ^ (z >> 30)) * Mix1;
            z = (z ^ (z >> 27)) * Mix2;
            return (z ^ (z >> 31)) >> 11;
        }
    }

    /// <summary>Fills <paramref name="draws"/>[i] with the draw of flat index <paramref name="start"/> + i.</summary>
    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Draws(CounterRandom random, long start, Span<ulong> draws)
    {
        var key = random.Key;
        var i = 0;
        unchecked
        {
            if (Vector512.IsHardwareAccelerated)
            {
                var z = Vector512.Create(key + ((ulong)start + 1) * Golden) + Lanes512();
                var step = Vector512.Create(8 * Golden);
                for (; i <= draws.Length - 8; i += 8, z += step)
                {
                    Finish(z).CopyTo(draws.Slice(i));
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var z = Vector256.Create(key + ((ulong)start + 1) * Golden) + Lanes256();
                var step = Vector256.Create(4 * Golden);
                for (; i <= draws.Length - 4; i += 4, z += step)
                {
                    Finish(z).CopyTo(draws.Slice(i));
                }
            }
        }

        for (; i < draws.Length; i++)
        {
            draws[i] = Draw(key, start + i);
        }
    }

    /// <summary>
    /// <c>values[i] *= draw(start + i) &lt; limit ? 1 : 0</c>: DARE's mask as torch applies it (a dropped negative entry
    /// becomes −0 and NaN stays NaN).
    /// </summary>
    // Its own JIT root: inlined into a large caller, the JIT would run out of budget to inline the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Apply(CounterRandom random, long start, ulong limit, Span<float> values)
    {
        var key = random.Key;
        var i = 0;
        unchecked
        {
            if (Vector512.IsHardwareAccelerated)
            {
                var z = State512(key, start);
                var bound = DrawBound.Of(limit);
                for (; i <= values.Length - 16; i += 16, z = Skip16(z))
                {
                    var keep = Keep16(z, bound).AsSingle();
                    var slice = values.Slice(i, 16);
                    (Vector512.Create(slice) * Vector512.ConditionalSelect(keep, Vector512<float>.One, Vector512<float>.Zero))
                        .CopyTo(slice);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var z = Vector256.Create(key + ((ulong)start + 1) * Golden) + Lanes256();
                var step = Vector256.Create(4 * Golden);
                var bound = Vector256.Create(limit);
                for (; i <= values.Length - 8; i += 8)
                {
                    var low = Vector256.LessThan(Finish(z), bound);
                    z += step;
                    var high = Vector256.LessThan(Finish(z), bound);
                    z += step;
                    var keep = Vector256.Narrow(low, high).AsSingle();
                    var slice = values.Slice(i, 8);
                    (Vector256.Create(slice) * Vector256.ConditionalSelect(keep, Vector256<float>.One, Vector256<float>.Zero))
                        .CopyTo(slice);
                }
            }
        }

        for (; i < values.Length; i++)
        {
            values[i] *= Draw(key, start + i) < limit ? 1f : 0f;
        }
    }

    /// <summary>
    /// DARE's two L1 statistics of a chunk in one pass: Σ|v| and Σ|v·keep| in double lanes (any order), with the
    /// smallest nonzero and the largest exponent field of the values, for <c>OrderedL1Sum.TryAdd</c>. Null where
    /// 512-bit vectors are not available (the caller then masks a copy and sums it).
    /// </summary>
    /// <param name="keepWords">Empty, or receives the mask as 16-bit words (bit b of word k set when entry 16k + b is
    /// kept; the words start cleared), at least one per 16 values or part of them, for the output pass to apply
    /// without drawing again (<see cref="BitMask.Words"/>).</param>
    public static (double All, double Kept, uint MinExponent, uint MaxExponent)? AbsSums(CounterRandom random,
        long start, ulong limit, ReadOnlySpan<float> values, Span<ushort> keepWords = default)
    {
        fixed (float* first = values)
        {
            return AbsSums(random, start, limit, new FloatValues(first), values.Length, keepWords);
        }
    }

    /// <summary>
    /// <see cref="AbsSums(CounterRandom, long, ulong, ReadOnlySpan{float}, Span{ushort})"/> of a task vector computed
    /// in registers from stored bf16 bits, <c>dᵢ = D(xᵢ − bᵢ)</c> as <see cref="StoredDifference"/> computes it:
    /// DARE's statistics pass without writing the task vector out.
    /// </summary>
    /// <param name="roundToBf16">True when the compute dtype is bf16, false for float32.</param>
    /// <param name="fineTune">The address of the fine-tune's first stored bf16 value.</param>
    /// <param name="baseModel">The address of the base model's first stored bf16 value.</param>
    /// <param name="count">Elements in the chunk.</param>
    public static (double All, double Kept, uint MinExponent, uint MaxExponent)? AbsSumsStored(CounterRandom random,
        long start, ulong limit, bool roundToBf16, nint fineTune, nint baseModel, int count,
        Span<ushort> keepWords = default) =>
        AbsSums(random, start, limit, new StoredDeltas((ushort*)fineTune, (ushort*)baseModel, roundToBf16), count,
            keepWords);

    // Its own JIT root, specialized per source: inlined into a large caller, the JIT would run out of budget to inline
    // the vector helpers.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (double All, double Kept, uint MinExponent, uint MaxExponent)? AbsSums<TValues>(CounterRandom random,
        long start, ulong limit, TValues values, int count, Span<ushort> keepWords)
        where TValues : struct, IValues
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            return null;
        }

        var writesWords = !keepWords.IsEmpty;
        if (writesWords)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(keepWords.Length, (count + 15) / 16, nameof(keepWords));
        }

        var key = random.Key;
        var i = 0;
        var all0 = Vector512<double>.Zero;
        var all1 = Vector512<double>.Zero;
        var kept0 = Vector512<double>.Zero;
        var kept1 = Vector512<double>.Zero;
        var minV = Vector512.Create(0xFFu);
        var maxV = Vector512<uint>.Zero;
        unchecked
        {
            var z = State512(key, start);
            var bound = DrawBound.Of(limit);
            // Written through a reference checked above: a call in this loop (a bounds-check failure is one) would
            // make the JIT keep every accumulator in memory.
            ref var word = ref MemoryMarshal.GetReference(keepWords);
            for (; i <= count - 16; i += 16)
            {
                var bits = values.Load16(i).AsUInt32() & Vector512.Create(0x7FFF_FFFFu);
                var exponent = Vector512.ShiftRightLogical(bits, 23);
                minV = Vector512.Min(minV, Vector512.ConditionalSelect(Vector512.Equals(bits, Vector512<uint>.Zero),
                    Vector512.Create(0xFFu), exponent));
                maxV = Vector512.Max(maxV, exponent);
                var keep = Keep16(z, bound);
                z = Skip16(z);
                var magnitude = bits.AsSingle();
                if (writesWords)
                {
                    Unsafe.Add(ref word, i >> 4) = (ushort)keep.ExtractMostSignificantBits();
                }

                var kept = magnitude & keep.AsSingle();
                all0 += Vector512.WidenLower(magnitude);
                all1 += Vector512.WidenUpper(magnitude);
                kept0 += Vector512.WidenLower(kept);
                kept1 += Vector512.WidenUpper(kept);
            }
        }

        var all = Vector512.Sum(all0 + all1);
        var keptSum = Vector512.Sum(kept0 + kept1);
        var min = LaneExtremes.Min(minV);
        var max = LaneExtremes.Max(maxV);

        for (; i < count; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(values.At(i)) & 0x7FFF_FFFFu;
            var exponent = bits >> 23;
            min = bits != 0 ? Math.Min(min, exponent) : min;
            max = Math.Max(max, exponent);
            var magnitude = BitConverter.UInt32BitsToSingle(bits);
            all += magnitude;
            var keepIt = Draw(key, start + i) < limit;
            keptSum += keepIt ? magnitude : 0f;
            if (keepIt && writesWords)
            {
                keepWords[i >> 4] |= (ushort)(1 << (i & 15));
            }
        }

        return (all, keptSum, min, max);
    }

    /// <summary>Where <see cref="AbsSums{TValues}"/> reads its values: 16 at a time, or one.</summary>
    private interface IValues
    {
        Vector512<float> Load16(int at);

        float At(int at);
    }

    /// <summary>float32 values in memory.</summary>
    private readonly struct FloatValues(float* first) : IValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Load16(int at) => Vector512.Load(first + at);

        public float At(int at) => first[at];
    }

    /// <summary>A task vector computed from stored bf16 bits as it is read.</summary>
    private readonly struct StoredDeltas(ushort* fineTune, ushort* baseModel, bool roundToBf16) : IValues
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Load16(int at) => Rounding.Bf16OfBf16MathIf(roundToBf16, Widen(fineTune + at) - Widen(baseModel + at));

        public float At(int at) =>
            Rounding.Bf16If(roundToBf16, BFloat16.ToSingle(fineTune[at]) - BFloat16.ToSingle(baseModel[at]));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Widen(ushort* at) =>
            Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load(at).ToVector512Unsafe()), 16).AsSingle();
    }

    /// <summary>The generator's state for flat indices <paramref name="index"/> … + 7, one per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> State512(ulong key, long index) =>
        Vector512.Create(unchecked(key + ((ulong)index + 1) * Golden)) + Lanes512();

    /// <summary>The state 16 indices further on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Skip16(Vector512<ulong> z) => z + Vector512.Create(unchecked(16 * Golden));

    /// <summary>The keep lanes (all bits set) of the 16 draws from state <paramref name="z"/> on: draw &lt; limit.</summary>
    /// <remarks>
    /// The draw is <c>h &gt;&gt; 11</c> of the mixed value <c>h = m ^ (m &gt;&gt; 31)</c>, so it is below the limit
    /// exactly when <c>h &lt; limit·2¹¹</c>, and that 64-bit compare is decided by the upper halves alone unless they
    /// are equal (about once in 2³² draws). The upper half of <c>h</c> is <c>m</c>'s upper half xor its top bit, so
    /// the last xor-shift, both compares and the narrowing of sixteen 64-bit lanes become one permute, a shift, an
    /// xor and one 32-bit compare: 21 instructions per 16 draws instead of 26 in the JIT's listing. The draws are half
    /// of DARE's fused output pass; it went from 1.77 to 1.61 ns per output entry (docs/benchmarks.md).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Keep16(Vector512<ulong> z, DrawBound bound)
    {
        var second = z + Vector512.Create(unchecked(8 * Golden));
        var upper = UpperHalves(Mixed(z), Mixed(second));
        upper ^= Vector512.ShiftRightLogical(upper, 31);
        if (Vector512.EqualsAny(upper, bound.Upper))
        {
            return Vector512.Narrow(Vector512.LessThan(Finish(z), bound.Limit),
                Vector512.LessThan(Finish(second), bound.Limit));
        }

        return Vector512.LessThan(upper, bound.Upper);
    }

    /// <summary>
    /// A limit in the two forms <see cref="Keep16"/> compares with: the upper half of <c>limit·2¹¹</c> for the fast
    /// compare, the limit itself for lanes whose upper halves are equal to it.
    /// </summary>
    /// <param name="Upper">The upper 32 bits of <c>limit·2¹¹</c> (all ones for the keep-all limit 2⁵³, whose equal
    /// lanes are then decided by the full compare).</param>
    /// <param name="Limit">The limit on the draw.</param>
    public readonly record struct DrawBound(Vector512<uint> Upper, Vector512<ulong> Limit)
    {
        /// <summary>The bound of <paramref name="limit"/> (<see cref="RandomKeep.Limit"/>).</summary>
        public static DrawBound Of(ulong limit) => new(
            Vector512.Create(limit >= 1UL << 53 ? uint.MaxValue : (uint)(limit >> 21)), Vector512.Create(limit));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Finish(Vector512<ulong> z)
    {
        z = Mixed(z);
        return Vector512.ShiftRightLogical(z ^ Vector512.ShiftRightLogical(z, 31), 11);
    }

    /// <summary>SplitMix64's state after its two multiplies, before the last xor-shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mixed(Vector512<ulong> z)
    {
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(Mix1);
        return (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(Mix2);
    }

    /// <summary>The upper 32 bits of each lane of <paramref name="first"/>, then of <paramref name="second"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> UpperHalves(Vector512<ulong> first, Vector512<ulong> second) =>
        Avx512F.IsSupported
            ? Avx512F.PermuteVar16x32x2(first.AsUInt32(),
                Vector512.Create(1u, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), second.AsUInt32())
            : Vector512.Narrow(Vector512.ShiftRightLogical(first, 32), Vector512.ShiftRightLogical(second, 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Finish(Vector256<ulong> z)
    {
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * Vector256.Create(Mix1);
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * Vector256.Create(Mix2);
        return Vector256.ShiftRightLogical(z ^ Vector256.ShiftRightLogical(z, 31), 11);
    }

    // Lane l starts l draws further: z advances by the golden step per index (mod 2⁶⁴).
    // Inlined: a vector live across a call is kept in memory, and the JIT then reloads and stores it every iteration.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Lanes512() => unchecked(
        Vector512.Create(0UL, Golden, 2 * Golden, 3 * Golden, 4 * Golden, 5 * Golden, 6 * Golden, 7 * Golden));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Lanes256() => unchecked(Vector256.Create(0UL, Golden, 2 * Golden, 3 * Golden));
}
