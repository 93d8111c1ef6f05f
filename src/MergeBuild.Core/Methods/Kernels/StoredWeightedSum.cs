using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// A weighted sum of bf16 tensors from their stored bits straight to the stored bits of the bf16 output, one pass
/// over each input: <c>out = bf16(finish(Σₖ round(xₖ · wₖ)))</c> with <c>finish(s) = round(s)</c>, or
/// <c>round(round(s) / divisor)</c> when normalizing, where <c>round</c> rounds to the compute dtype (bf16 or
/// float32). The terms are summed in float32 in input order from +0, as torch's reduction does; every value stays
/// in registers from the load of the inputs to the store of the output.
/// </summary>
/// <remarks>
/// It computes exactly what decoding every input, <see cref="Fused.AddScaled"/>, <see cref="Rounding.InPlace"/>, a
/// division and <see cref="BFloat16.FromSingle(ReadOnlySpan{float}, Span{ushort})"/> compute one pass at a time (the
/// <c>StoredWeightedSumTests</c> compare them bit for bit); those passes over the chunk buffers were half of a
/// three-model linear merge's user time.
/// </remarks>
internal static unsafe class StoredWeightedSum
{
    /// <param name="inputs">The address of each input's first stored bf16 value; each holds at least
    /// <paramref name="count"/> values and stays valid for the call.</param>
    /// <param name="weights">One weight per input, already rounded to the compute dtype.</param>
    /// <param name="count">Elements to compute.</param>
    /// <param name="roundToBf16">True when the compute dtype is bf16, false for float32.</param>
    /// <param name="divisor">The divisor when normalizing (already rounded), or null.</param>
    /// <param name="output">The output's stored bf16 values.</param>
    public static void Compute(ReadOnlySpan<nint> inputs, ReadOnlySpan<float> weights, int count, bool roundToBf16,
        float? divisor, Span<ushort> output)
    {
        if (weights.Length != inputs.Length)
        {
            throw new ArgumentException("One weight per input is needed.", nameof(weights));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, count, nameof(output));
        var normalize = divisor.HasValue;
        var by = divisor.GetValueOrDefault(1f);
        var done = 0;
        fixed (ushort* destination = output)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                done = Compute512(inputs, weights, count, roundToBf16, normalize, by, destination);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                done = Compute256(inputs, weights, count, roundToBf16, normalize, by, destination);
            }

            for (var i = done; i < count; i++)
            {
                var sum = 0f;
                for (var k = 0; k < inputs.Length; k++)
                {
                    sum += Rounding.Bf16If(roundToBf16, BFloat16.ToSingle(((ushort*)inputs[k])[i]) * weights[k]);
                }

                sum = Rounding.Bf16If(roundToBf16, sum);
                if (normalize)
                {
                    sum = Rounding.Bf16If(roundToBf16, sum / by);
                }

                destination[i] = BFloat16.FromSingle(sum);
            }
        }
    }

    internal static int Compute512(ReadOnlySpan<nint> inputs, ReadOnlySpan<float> weights, int count, bool roundToBf16,
        bool normalize, float divisor, ushort* output)
    {
        const int Step = 32; // one Vector512<ushort> of each input: two Vector512<float> of sums
        var by = Vector512.Create(divisor);
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var first = Vector512<float>.Zero;
            var second = Vector512<float>.Zero;
            for (var k = 0; k < inputs.Length; k++)
            {
                var weight = Vector512.Create(weights[k]);
                var (lower, upper) = StoredBf16.Load512((ushort*)inputs[k] + i);
                first += Rounding.Bf16OfBf16MathIf(roundToBf16, lower * weight);
                second += Rounding.Bf16OfBf16MathIf(roundToBf16, upper * weight);
            }

            first = Finish(roundToBf16, normalize, by, first);
            second = Finish(roundToBf16, normalize, by, second);
            StoredBf16.Store512(output + i, first, second);
        }

        return i;
    }

    internal static int Compute256(ReadOnlySpan<nint> inputs, ReadOnlySpan<float> weights, int count, bool roundToBf16,
        bool normalize, float divisor, ushort* output)
    {
        const int Step = 16;
        var by = Vector256.Create(divisor);
        var i = 0;
        for (; i <= count - Step; i += Step)
        {
            var first = Vector256<float>.Zero;
            var second = Vector256<float>.Zero;
            for (var k = 0; k < inputs.Length; k++)
            {
                var weight = Vector256.Create(weights[k]);
                var (lower, upper) = StoredBf16.Load256((ushort*)inputs[k] + i);
                first += Rounding.Bf16OfBf16MathIf(roundToBf16, lower * weight);
                second += Rounding.Bf16OfBf16MathIf(roundToBf16, upper * weight);
            }

            first = Finish(roundToBf16, normalize, by, first);
            second = Finish(roundToBf16, normalize, by, second);
            StoredBf16.Store256(output + i, first, second);
        }

        return i;
    }

    // The sum rounded to the compute dtype (and divided and rounded again), then, when that is float32, rounded to bf16
    // for storing as the output encoding does (for bf16 that rounding would be the identity).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish(bool roundToBf16, bool normalize, Vector512<float> divisor, Vector512<float> sum)
    {
        sum = Rounding.Bf16OfBf16MathIf(roundToBf16, sum);
        if (normalize)
        {
            sum = Rounding.Bf16OfBf16MathIf(roundToBf16, sum / divisor);
        }

        return roundToBf16 ? sum : Rounding.Bf16(sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish(bool roundToBf16, bool normalize, Vector256<float> divisor, Vector256<float> sum)
    {
        sum = Rounding.Bf16OfBf16MathIf(roundToBf16, sum);
        if (normalize)
        {
            sum = Rounding.Bf16OfBf16MathIf(roundToBf16, sum / divisor);
        }

        return roundToBf16 ? sum : Rounding.Bf16(sum);
    }
}
