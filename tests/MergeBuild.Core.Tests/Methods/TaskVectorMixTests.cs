using System.Runtime.Intrinsics;
using MergeBuild.Methods;
using MergeBuild.Methods.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

/// <summary>
/// The vectorized mix of task vectors (<see cref="TaskVectorMix"/>) against the scalar mixer that follows mergekit op by
/// op (<see cref="TaskVectorMixer"/>), bit for bit: weights of 1 (where the vector code skips the product), votes that
/// cancel to ±0, the smallest bf16 subnormals, infinities and NaNs, sign election with 1 to 5 models (the divisor is
/// looked up for up to 4 models with 512-bit vectors and up to 3 with 256-bit ones, summed otherwise). Each width this
/// CPU accelerates is checked on its own.
/// </summary>
public class TaskVectorMixTests
{
    private const int Length = 203;

    public static TheoryData<DType, string, bool, bool, double> Cases()
    {
        var data = new TheoryData<DType, string, bool, bool, double>();
        foreach (var dtype in new[] { DType.BF16, DType.F32 })
        {
            foreach (var weights in new[] { "1", "1 1 1", "1 0.5 -0.3", "0.7 1 1.3 1", "1 1 1 1 1", "0 1 0.25", "-1 2" })
            {
                data.Add(dtype, weights, true, true, 1.0);
                data.Add(dtype, weights, true, false, 0.7);
                data.Add(dtype, weights, false, true, 1.0);
                data.Add(dtype, weights, false, false, 1.3);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_vector_mix_gives_the_scalar_mixers_bits(DType dtype, string weightList, bool consensus,
        bool normalize, double lambda)
    {
        var weights = weightList.Split(' ').Select(w => FloatCodec.Round(dtype, float.Parse(w, System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var random = new Random(weightList.Length * 7 + (consensus ? 1 : 0) + (normalize ? 2 : 0));
        var deltas = weights.Select(_ => Values(random, dtype)).ToArray();
        var baseValues = Values(random, dtype);
        var expected = new float[Length];
        TaskVectorMixer.Mix(Clone(deltas), weights, baseValues, expected, consensus, normalize, lambda, dtype);

        var output = new float[Length];
        TaskVectorMix.Mix(dtype, Clone(deltas), weights, baseValues, output, consensus, normalize, lambda);
        AssertSameBits(expected, output, Length);

        var settings = new TaskVectorMix.Settings(dtype == DType.BF16, normalize, lambda != 1.0, (float)lambda,
            consensus ? 1f : TaskVectorMix.LinearDivisor(weights, dtype));
        if (Vector256.IsHardwareAccelerated)
        {
            Array.Clear(output);
            var done = consensus
                ? TaskVectorMix.Consensus256(Clone(deltas), weights, baseValues, output, settings)
                : TaskVectorMix.Linear256(Clone(deltas), weights, baseValues, output, settings);
            AssertSameBits(expected, output, done);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            Array.Clear(output);
            var done = consensus
                ? TaskVectorMix.Consensus512(Clone(deltas), weights, baseValues, output, settings)
                : TaskVectorMix.Linear512(Clone(deltas), weights, baseValues, output, settings);
            AssertSameBits(expected, output, done);
        }
    }

    /// <summary>Values already in the compute dtype, as task vectors are: mostly small, with the edge cases mixed in.</summary>
    private static float[] Values(Random random, DType dtype)
    {
        float[] special =
        [
            0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e30f, -1e30f,
            BitConverter.UInt32BitsToSingle(0x0001_0000u), BitConverter.UInt32BitsToSingle(0x8001_0000u),
            BitConverter.UInt32BitsToSingle(0x0002_0000u), BitConverter.UInt32BitsToSingle(0x8002_0000u),
        ];
        return [.. Enumerable.Range(0, Length).Select(_ => FloatCodec.Round(dtype, random.Next(4) == 0
            ? special[random.Next(special.Length)]
            : (float)((random.NextDouble() - 0.5) * 4e-3)))];
    }

    private static float[][] Clone(float[][] arrays) => [.. arrays.Select(a => (float[])a.Clone())];

    private static void AssertSameBits(float[] expected, float[] actual, int count)
    {
        for (var e = 0; e < count; e++)
        {
            var (want, got) = (BitConverter.SingleToUInt32Bits(expected[e]), BitConverter.SingleToUInt32Bits(actual[e]));
            Assert.True(want == got, $"element {e}: expected 0x{want:X8} ({expected[e]}), got 0x{got:X8} ({actual[e]})");
        }
    }
}
