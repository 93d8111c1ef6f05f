using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Tests;

/// <summary>Float32 values as bit patterns (NaN payloads and signed zeros included) and generators of test data.</summary>
internal static class Bits
{
    public static uint Of(float value) => BitConverter.SingleToUInt32Bits(value);

    public static float Float(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    /// <summary>Values every kernel must get right: signed zeros, subnormals, infinities, NaNs with payloads.</summary>
    public static readonly float[] Specials =
    [
        0f, -0f, float.Epsilon, -float.Epsilon, 1e-40f, -3e-39f, 6.0e-8f, -5.9e-8f, 6.1e-5f, 65504f, -65519f, 65520f,
        1e30f, -1e30f, float.MaxValue, -float.MaxValue, float.PositiveInfinity, float.NegativeInfinity,
        Float(0x7FC0_0000), Float(0xFFC0_0000), Float(0x7FC1_2000), Float(0xFFE4_6000),
        Float(0x7F81_0000), Float(0xFF80_2000), // signaling NaNs that survive a bf16 or f16 round trip
        1f, -1f, 0.5f, 1e-5f, -1e-5f, 1e-6f, 1.0013580322265625e-5f,
    ];

    /// <summary>
    /// Weight-like values (a few hundredths) already in <paramref name="dtype"/>, as the executor hands them to a
    /// method; one in twenty is a special value.
    /// </summary>
    public static float[] Weights(Random random, int count, DType dtype)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = random.Next(20) == 0
                ? Specials[random.Next(Specials.Length)]
                : FloatCodec.Round(dtype, (float)(random.NextDouble() * 2 - 1) * 0.05f);
        }

        return values;
    }

    /// <summary>
    /// Values near <paramref name="baseValues"/>: equal, a tiny step away (around the ε of RAM and the t of
    /// nearswap), or an ordinary fine-tuning delta, so every branch of the kernels is taken.
    /// </summary>
    public static float[] Near(Random random, float[] baseValues, DType dtype)
    {
        var values = new float[baseValues.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var b = baseValues[i];
            values[i] = random.Next(8) switch
            {
                0 => b,
                1 => FloatCodec.Round(dtype, b + (float)(random.NextDouble() - 0.5) * 4e-5f),
                2 => Specials[random.Next(Specials.Length)],
                _ => FloatCodec.Round(dtype, b + (float)(random.NextDouble() - 0.5) * 0.02f),
            };
        }

        return values;
    }
}
