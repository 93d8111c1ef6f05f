using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Tensors;

public class Float16Tests
{
    [Fact]
    public void Every_f16_pattern_widens_like_Half_and_round_trips()
    {
        var source = new ushort[0x1_0000];
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = (ushort)i;
        }

        var widened = new float[source.Length];
        Float16.ToSingle(source, widened);
        for (var i = 0; i < source.Length; i++)
        {
            var expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(widened[i]));
            Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(Float16.ToSingle((ushort)i)));
            if (!float.IsNaN(expected))
            {
                Assert.Equal((ushort)i, Float16.FromSingle(widened[i]));
            }
        }
    }

    [Fact]
    public void Span_FromSingle_equals_Half_cast_on_random_patterns()
    {
        var random = new Random(5);
        var source = new float[1_000_003];
        for (var i = 0; i < source.Length; i++)
        {
            var bits = (i % 5) switch
            {
                0 => 0x3380_0000u | (uint)random.Next(0x80_0000), // around f16's subnormal range
                1 => 0x7F80_0000u | (uint)random.Next(0x80_0000), // infinity and NaNs
                2 => (0x3F80_0000u + ((uint)random.Next(0x400) << 13)) | 0x1000, // exact f16 ties
                _ => (uint)random.NextInt64(0, 1L << 32),
            };
            source[i] = BitConverter.UInt32BitsToSingle(bits);
        }

        var actual = new ushort[source.Length];
        Float16.FromSingle(source, actual);
        for (var i = 0; i < source.Length; i++)
        {
            var expected = BitConverter.HalfToUInt16Bits((Half)source[i]);
            if (float.IsNaN(source[i]))
            {
                // Payload handling of NaN may differ between the scalar and vector paths; NaN must stay NaN.
                Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(actual[i])));
            }
            else if (expected != actual[i])
            {
                Assert.Fail($"input 0x{BitConverter.SingleToUInt32Bits(source[i]):X8}: expected 0x{expected:X4}, got 0x{actual[i]:X4}");
            }
        }
    }

    [Theory]
    [InlineData(1.0f, (ushort)0x3C00)]
    [InlineData(65504f, (ushort)0x7BFF)]
    [InlineData(65520f, (ushort)0x7C00)] // tie above max half rounds to infinity
    [InlineData(1.00048828125f, (ushort)0x3C00)] // tie between 1 and 1+2^-10 -> even
    [InlineData(-2.0f, (ushort)0xC000)]
    public void FromSingle_known_values(float value, ushort expected)
    {
        Assert.Equal(expected, Float16.FromSingle(value));
        Assert.Equal((float)BitConverter.UInt16BitsToHalf(expected), Float16.Round(value));
    }
}
