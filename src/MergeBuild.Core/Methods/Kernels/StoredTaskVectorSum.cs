using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// Plain task arithmetic (no sparsifier, no sign election) from the stored bf16 bits of the fine-tunes and the base
/// straight to the stored bits of the bf16 output, one pass over each input with every value in registers:
/// <c>out = D(b + D(D(D(Σᵢ D(D(xᵢ − b) · wᵢ)) / divisor) · λ))</c>, where D rounds to the compute dtype (bf16 or
/// float32), the division only when normalizing and the scaling only when λ ≠ 1.
/// </summary>
/// <remarks>
/// The same operations, in the same order and with the same NaN rule (<see cref="TaskVectorMix.AddFirst(float, float)"/>),
/// as decoding every input, <see cref="Fused.Difference"/>, <see cref="TaskVectorMix.Mix"/> and encoding
/// (<c>StoredTaskVectorSumTests</c> compare them bit for bit). Weights and λ must be finite, as the vector mixer needs.
/// </remarks>
internal static unsafe class StoredTaskVectorSum
{
    /// <summary>What stays fixed for a tensor.</summary>
    /// <param name="RoundToBf16">True when the compute dtype is bf16, false for float32.</param>
    /// <param name="Divisor">Σw (see <see cref="TaskVectorMix.LinearDivisor"/>) when normalizing, else null.</param>
    /// <param name="Lambda">The scale of the merged task vector (1 leaves it alone).</param>
    public readonly record struct Settings(bool RoundToBf16, float? Divisor, float Lambda);

    /// <param name="inputs">The address of each fine-tune's first stored bf16 value, in recipe order.</param>
    /// <param name="baseModel">The address of the base model's first stored bf16 value.</param>
    /// <param name="weights">One weight per fine-tune, rounded to the compute dtype.</param>
    /// <param name="count">Elements to compute (every input holds at least as many).</param>
    /// <param name="settings">Rounding, normalization and λ.</param>
    /// <param name="output">The output's stored bf16 values.</param>
    public static void Compute(ReadOnlySpan<nint> inputs, nint baseModel, ReadOnlySpan<float> weights, int count,
        Settings settings, Span<ushort> output)
    {
        if (inputs.Length == 0 || weights.Length != inputs.Length)
        {
            throw new ArgumentException("One weight per fine-tune (at least one) is needed.", nameof(weights));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, count, nameof(output));
        var done = 0;
        fixed (ushort* destination = output)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                done = Compute512(inputs, (ushort*)baseModel, weights, count, settings, destination);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                done = Compute256(inputs, (ushort*)baseModel, weights, count, settings, destination);
            }

            for (var e = done; e < count; e++)
            {
                destination[e] = Element(inputs, (ushort*)baseModel, weights, e, settings);
            }
        }
    }

    private static ushort Element(ReadOnlySpan<nint> inputs, ushort* baseModel, ReadOnlySpan<float> weights, int e,
        Settings s)
    {
        var b = BFloat16.ToSingle(baseModel[e]);
        var mixed = 0f;
        for (var m = 0; m < inputs.Length; m++)
        {
            var delta = Rounding.Bf16If(s.RoundToBf16, BFloat16.ToSingle(((ushort*)inputs[m])[e]) - b);
            var weighted = Rounding.Bf16If(s.RoundToBf16, delta * weights[m]);
            mixed = m == 0 ? weighted : TaskVectorMix.AddFirst(mixed, weighted);
        }

        mixed = Rounding.Bf16If(s.RoundToBf16, mixed);
        if (s.Divisor is { } divisor)
        {
            mixed = Rounding.Bf16If(s.RoundToBf16, mixed / divisor);
        }

        if (s.Lambda != 1f)
        {
            mixed = Rounding.Bf16If(s.RoundToBf16, mixed * s.Lambda);
        }

        return BFloat16.FromSingle(Rounding.Bf16If(s.RoundToBf16, TaskVectorMix.AddFirst(mixed, b)));
    }

    /// <summary>
    /// The 512-bit loop, first with plain adds; a block whose output holds a NaN (the only outputs where plain adds and
    /// the NaN rule can differ: a NaN never vanishes in these operations) sends the chunk through again with the rule.
    /// </summary>
    /// <remarks>
    /// The rule's compare and select are three of the four instructions of each of the six adds in a three-model
    /// block; checked weights have no NaN and checkpoints next to none, so the second run is for damaged inputs only.
    /// </remarks>
    internal static int Compute512(ReadOnlySpan<nint> inputs, ushort* baseModel, ReadOnlySpan<float> weights, int count,
        Settings s, ushort* output)
    {
        var done = Loop512<PlainAdd>(inputs, baseModel, weights, count, s, output);
        return done >= 0 ? done : Loop512<FirstNaN>(inputs, baseModel, weights, count, s, output);
    }

    /// <inheritdoc cref="Compute512"/>
    internal static int Compute256(ReadOnlySpan<nint> inputs, ushort* baseModel, ReadOnlySpan<float> weights, int count,
        Settings s, ushort* output)
    {
        var done = Loop256<PlainAdd>(inputs, baseModel, weights, count, s, output);
        return done >= 0 ? done : Loop256<FirstNaN>(inputs, baseModel, weights, count, s, output);
    }

    /// <returns>Elements done, or −1 when <typeparamref name="TAdd"/> does not fix NaN bits and an output was NaN.</returns>
    private static int Loop512<TAdd>(ReadOnlySpan<nint> inputs, ushort* baseModel, ReadOnlySpan<float> weights,
        int count, Settings s, ushort* output)
        where TAdd : struct, IAdd
    {
        const int Step = 32; // one Vector512<ushort> of each input: two Vector512<float>
        var bf16 = s.RoundToBf16;
        var normalize = s.Divisor.HasValue;
        var divisor = Vector512.Create(s.Divisor.GetValueOrDefault(1f));
        var applyLambda = s.Lambda != 1f;
        var lambda = Vector512.Create(s.Lambda);
        var nan = Vector512<float>.Zero;
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var (baseLower, baseUpper) = StoredBf16.Load512(baseModel + i);
            var (lower, upper) = StoredBf16.Load512((ushort*)inputs[0] + i);
            var first = Weighted(lower, baseLower, weights[0], bf16);
            var second = Weighted(upper, baseUpper, weights[0], bf16);
            for (var m = 1; m < inputs.Length; m++)
            {
                (lower, upper) = StoredBf16.Load512((ushort*)inputs[m] + i);
                first = TAdd.Add(first, Weighted(lower, baseLower, weights[m], bf16));
                second = TAdd.Add(second, Weighted(upper, baseUpper, weights[m], bf16));
            }

            first = Finish<TAdd>(first, baseLower, bf16, normalize, divisor, applyLambda, lambda);
            second = Finish<TAdd>(second, baseUpper, bf16, normalize, divisor, applyLambda, lambda);
            if (!TAdd.FixesNaNs)
            {
                nan |= ~Vector512.Equals(first, first) | ~Vector512.Equals(second, second);
            }

            StoredBf16.Store512(output + i, first, second);
        }

        return TAdd.FixesNaNs || nan == Vector512<float>.Zero ? i : -1;
    }

    /// <inheritdoc cref="Loop512"/>
    private static int Loop256<TAdd>(ReadOnlySpan<nint> inputs, ushort* baseModel, ReadOnlySpan<float> weights,
        int count, Settings s, ushort* output)
        where TAdd : struct, IAdd
    {
        const int Step = 16;
        var bf16 = s.RoundToBf16;
        var normalize = s.Divisor.HasValue;
        var divisor = Vector256.Create(s.Divisor.GetValueOrDefault(1f));
        var applyLambda = s.Lambda != 1f;
        var lambda = Vector256.Create(s.Lambda);
        var nan = Vector256<float>.Zero;
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var (baseLower, baseUpper) = StoredBf16.Load256(baseModel + i);
            var (lower, upper) = StoredBf16.Load256((ushort*)inputs[0] + i);
            var first = Weighted(lower, baseLower, weights[0], bf16);
            var second = Weighted(upper, baseUpper, weights[0], bf16);
            for (var m = 1; m < inputs.Length; m++)
            {
                (lower, upper) = StoredBf16.Load256((ushort*)inputs[m] + i);
                first = TAdd.Add(first, Weighted(lower, baseLower, weights[m], bf16));
                second = TAdd.Add(second, Weighted(upper, baseUpper, weights[m], bf16));
            }

            first = Finish<TAdd>(first, baseLower, bf16, normalize, divisor, applyLambda, lambda);
            second = Finish<TAdd>(second, baseUpper, bf16, normalize, divisor, applyLambda, lambda);
            if (!TAdd.FixesNaNs)
            {
                nan |= ~Vector256.Equals(first, first) | ~Vector256.Equals(second, second);
            }

            StoredBf16.Store256(output + i, first, second);
        }

        return TAdd.FixesNaNs || nan == Vector256<float>.Zero ? i : -1;
    }

    /// <summary><c>D(D(x − b) · w)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Weighted(Vector512<float> x, Vector512<float> b, float weight, bool bf16) =>
        Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, x - b) * Vector512.Create(weight));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Weighted(Vector256<float> x, Vector256<float> b, float weight, bool bf16) =>
        Rounding.Bf16OfBf16MathIf(bf16, Rounding.Bf16OfBf16MathIf(bf16, x - b) * Vector256.Create(weight));

    /// <summary>The sum rounded, normalized, scaled, added to the base; then rounded to bf16 for storing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish<TAdd>(Vector512<float> mixed, Vector512<float> b, bool bf16, bool normalize,
        Vector512<float> divisor, bool applyLambda, Vector512<float> lambda)
        where TAdd : struct, IAdd
    {
        mixed = Rounding.Bf16OfBf16MathIf(bf16, mixed);
        if (normalize)
        {
            mixed = Rounding.Bf16OfBf16MathIf(bf16, mixed / divisor);
        }

        if (applyLambda)
        {
            mixed = Rounding.Bf16OfBf16MathIf(bf16, mixed * lambda);
        }

        // Rounded to the compute dtype, then (float32 compute) to bf16 by the output encoding: bf16 rounds once.
        return Rounding.Bf16OfBf16Math(TAdd.Add(mixed, b));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish<TAdd>(Vector256<float> mixed, Vector256<float> b, bool bf16, bool normalize,
        Vector256<float> divisor, bool applyLambda, Vector256<float> lambda)
        where TAdd : struct, IAdd
    {
        mixed = Rounding.Bf16OfBf16MathIf(bf16, mixed);
        if (normalize)
        {
            mixed = Rounding.Bf16OfBf16MathIf(bf16, mixed / divisor);
        }

        if (applyLambda)
        {
            mixed = Rounding.Bf16OfBf16MathIf(bf16, mixed * lambda);
        }

        return Rounding.Bf16OfBf16Math(TAdd.Add(mixed, b));
    }

    /// <summary>How the loops add: with the NaN rule, or plainly with the NaN check.</summary>
    internal interface IAdd
    {
        /// <summary>True when <see cref="Add(Vector512{float}, Vector512{float})"/> fixes a NaN's bits by the rule.</summary>
        static abstract bool FixesNaNs { get; }

        static abstract Vector512<float> Add(Vector512<float> a, Vector512<float> b);

        static abstract Vector256<float> Add(Vector256<float> a, Vector256<float> b);
    }

    /// <summary>a + b: the same value wherever the result is not NaN.</summary>
    private readonly struct PlainAdd : IAdd
    {
        public static bool FixesNaNs => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    }

    /// <summary><see cref="TaskVectorMix.AddFirst(Vector512{float}, Vector512{float})"/>: a NaN is the first operand's.</summary>
    private readonly struct FirstNaN : IAdd
    {
        public static bool FixesNaNs => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => TaskVectorMix.AddFirst(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => TaskVectorMix.AddFirst(a, b);
    }
}
