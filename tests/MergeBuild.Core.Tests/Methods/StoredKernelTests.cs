using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;
using static MergeBuild.Core.Tests.Methods.StoredBits;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The kernels that read stored bf16 bits (linear's weighted sum, plain task arithmetic, a task vector)
/// against mergekit's arithmetic written out here element by element: decode (exact), each torch op in float32 rounded
/// to the compute dtype, the sum over models in float32 in recipe order, the final encode. Inputs are either random bit
/// patterns (NaNs with payloads, infinities, −0, subnormals) or fine-tunes a small step from a base, where the
/// subtraction and the roundings decide the last bit; lengths leave a scalar tail after the vectors. Each width that
/// this CPU accelerates is checked on its own, so the 256-bit fallback is tested on a 512-bit machine too.
/// </summary>
public unsafe class StoredKernelTests
{
    [Theory]
    [InlineData(true, 3, 1000, true, false)]
    [InlineData(true, 3, 1000, false, true)]
    [InlineData(false, 3, 1000, true, false)]
    [InlineData(false, 2, 1000, false, true)]
    [InlineData(true, 1, 33, false, true)]
    [InlineData(true, 4, 7, true, true)]
    [InlineData(false, 5, 95, true, true)]
    public void The_weighted_sum_from_stored_bits_equals_mergekits_arithmetic_bit_for_bit(bool bf16, int models,
        int length, bool normalize, bool randomBits)
    {
        var random = new Random(length * 31 + models);
        var (inputs, _) = Inputs(random, models, length, randomBits);
        float[] weights = [.. Enumerable.Range(0, models).Select(m => Round(bf16, (float)(random.NextDouble() * 1.6 - 0.3)))];
        float? divisor = normalize ? Round(bf16, weights.Sum()) : null;

        var expected = new ushort[length];
        for (var e = 0; e < length; e++)
        {
            var sum = 0f;
            for (var m = 0; m < models; m++)
            {
                sum += Round(bf16, Decode(inputs[m][e]) * weights[m]);
            }

            sum = Round(bf16, sum);
            if (divisor is { } by)
            {
                sum = Round(bf16, sum / by);
            }

            expected[e] = BFloat16.FromSingle(sum);
        }

        var addresses = Addresses(inputs);
        var output = new ushort[length];
        StoredWeightedSum.Compute(addresses, weights, length, bf16, divisor, output);
        AssertSameValues(expected, output, length);

        fixed (ushort* destination = output)
        {
            if (Vector256.IsHardwareAccelerated)
            {
                Array.Clear(output);
                var done = StoredWeightedSum.Compute256(addresses, weights, length, bf16, divisor.HasValue,
                    divisor.GetValueOrDefault(1f), destination);
                AssertSameValues(expected, output, done);
            }

            if (Vector512.IsHardwareAccelerated)
            {
                Array.Clear(output);
                var done = StoredWeightedSum.Compute512(addresses, weights, length, bf16, divisor.HasValue,
                    divisor.GetValueOrDefault(1f), destination);
                AssertSameValues(expected, output, done);
            }
        }
    }

    [Theory]
    [InlineData(true, 3, 1000, false, 1.0, false)]
    [InlineData(true, 3, 1000, true, 0.7, false)]
    [InlineData(false, 3, 1000, true, 1.3, false)]
    [InlineData(false, 2, 1000, false, 1.0, true)]
    [InlineData(true, 1, 33, true, 1.0, true)]
    [InlineData(true, 4, 71, false, 0.5, true)]
    [InlineData(false, 5, 7, true, 2.0, false)]
    public void Task_arithmetic_from_stored_bits_equals_mergekits_arithmetic_bit_for_bit(bool bf16, int models,
        int length, bool normalize, double lambda, bool randomBits)
    {
        var random = new Random(length * 17 + models);
        var (inputs, baseValues) = Inputs(random, models, length, randomBits);
        float[] weights = [.. Enumerable.Range(0, models).Select(m => Round(bf16, (float)(random.NextDouble() * 1.6 - 0.3)))];
        var weightSum = Round(bf16, weights.Sum());
        float? divisor = normalize ? (Math.Abs(weightSum) < Round(bf16, 1e-8f) ? 1f : weightSum) : null;
        var settings = new StoredTaskVectorSum.Settings(bf16, divisor, (float)lambda);

        var expected = new ushort[length];
        for (var e = 0; e < length; e++)
        {
            var b = Decode(baseValues[e]);
            var mixed = 0f;
            for (var m = 0; m < models; m++)
            {
                var weighted = Round(bf16, Round(bf16, Decode(inputs[m][e]) - b) * weights[m]);
                mixed = m == 0 ? weighted : mixed + weighted;
            }

            mixed = Round(bf16, mixed);
            if (divisor is { } by)
            {
                mixed = Round(bf16, mixed / by);
            }

            if (lambda != 1.0)
            {
                mixed = Round(bf16, mixed * (float)lambda);
            }

            expected[e] = BFloat16.FromSingle(Round(bf16, mixed + b));
        }

        var addresses = Addresses(inputs);
        var baseAddress = Addresses([baseValues])[0];
        var output = new ushort[length];
        StoredTaskVectorSum.Compute(addresses, baseAddress, weights, length, settings, output);
        AssertSameValues(expected, output, length);

        fixed (ushort* destination = output)
        {
            if (Vector256.IsHardwareAccelerated)
            {
                Array.Clear(output);
                var done = StoredTaskVectorSum.Compute256(addresses, (ushort*)baseAddress, weights, length, settings,
                    destination);
                AssertSameValues(expected, output, done);
            }

            if (Vector512.IsHardwareAccelerated)
            {
                Array.Clear(output);
                var done = StoredTaskVectorSum.Compute512(addresses, (ushort*)baseAddress, weights, length, settings,
                    destination);
                AssertSameValues(expected, output, done);
            }
        }
    }

    [Theory]
    [InlineData(true, 64)]
    [InlineData(false, 64)]
    [InlineData(true, 40)]
    public void A_nan_in_the_task_vector_sum_is_the_first_nan_models_quieted(bool bf16, int length)
    {
        // Two fine-tunes with NaNs of different payloads at the same entries, one at a single entry, among finite
        // values: the output's NaN bits are fixed by the rule (the first operand's NaN, quieted), not by which operand
        // the JIT happens to put first in an add.
        var random = new Random(length);
        var (inputs, baseValues) = Inputs(random, 3, length, randomBits: false);
        foreach (var e in new[] { 3, 17, 33, length - 2 })
        {
            inputs[1][e] = 0x7F85; // signalling, payload 5
            inputs[2][e] = 0xFF93; // signalling, payload 0x13, negative
        }

        inputs[2][20] = 0x7F99;
        var settings = new StoredTaskVectorSum.Settings(bf16, null, 1f);
        var output = new ushort[length];

        StoredTaskVectorSum.Compute(Addresses(inputs), Addresses([baseValues])[0], [1f, 0.5f, 0.25f], length, settings, output);

        foreach (var e in new[] { 3, 17, 33, length - 2 })
        {
            Assert.Equal(0x7FC5, output[e]);
        }

        Assert.Equal(0x7FD9, output[20]);
        Assert.All(output.Where((_, e) => e is not (3 or 17 or 33 or 20) && e != length - 2), v => Assert.False(float.IsNaN(Decode(v))));
    }

    [Theory]
    [InlineData(true, 1000, false)]
    [InlineData(true, 1000, true)]
    [InlineData(false, 1000, false)]
    [InlineData(false, 77, true)]
    [InlineData(true, 5, true)]
    public void The_task_vector_from_stored_bits_equals_mergekits_subtraction_bit_for_bit(bool bf16, int length,
        bool randomBits)
    {
        var random = new Random(length * 13 + (bf16 ? 1 : 0));
        var (inputs, baseValues) = Inputs(random, 1, length, randomBits);
        var expected = new float[length];
        for (var e = 0; e < length; e++)
        {
            expected[e] = Round(bf16, Decode(inputs[0][e]) - Decode(baseValues[e]));
        }

        var fineTune = Addresses(inputs)[0];
        var baseAddress = Addresses([baseValues])[0];
        var delta = new float[length];
        StoredDifference.Compute(bf16, fineTune, baseAddress, delta);
        AssertSameFloats(expected, delta, length);

        fixed (float* destination = delta)
        {
            if (Vector256.IsHardwareAccelerated)
            {
                Array.Clear(delta);
                var done = StoredDifference.Compute256(bf16, (ushort*)fineTune, (ushort*)baseAddress, length, destination);
                AssertSameFloats(expected, delta, done);
            }

            if (Vector512.IsHardwareAccelerated)
            {
                Array.Clear(delta);
                var done = StoredDifference.Compute512(bf16, (ushort*)fineTune, (ushort*)baseAddress, length, destination);
                AssertSameFloats(expected, delta, done);
            }
        }
    }

    /// <summary>Equal bits, except that a NaN only has to be a NaN.</summary>
    private static void AssertSameFloats(float[] expected, float[] actual, int count)
    {
        for (var e = 0; e < count; e++)
        {
            var (want, got) = (BitConverter.SingleToUInt32Bits(expected[e]), BitConverter.SingleToUInt32Bits(actual[e]));
            Assert.True(float.IsNaN(expected[e]) ? float.IsNaN(actual[e]) : want == got,
                $"element {e}: expected 0x{want:X8}, got 0x{got:X8}");
        }
    }
}
