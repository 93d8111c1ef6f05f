using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Tensors;

public class BFloat16Tests
{
    // An independent reference: pick the nearer of the two bf16 neighbours of x using double arithmetic
    // (exact for these values), ties to the even mantissa; infinity counts as 2^128 as IEEE overflow does.
    private static ushort ReferenceRound(float x)
    {
        var bits = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        var lowBits = bits & 0xFFFF_0000u;
        if ((lowBits & 0x7FFF_FFFFu) == 0x7F80_0000u)
        {
            return (ushort)(lowBits >> 16); // infinity stays infinity
        }

        var highBits = lowBits + 0x1_0000u; // next bf16 away from zero (may become infinity)
        var low = (double)BitConverter.UInt32BitsToSingle(lowBits);
        var high = (highBits & 0x7FFF_FFFFu) == 0x7F80_0000u
            ? Math.CopySign(Math.Pow(2, 128), x)
            : (double)BitConverter.UInt32BitsToSingle(highBits);
        var toLow = Math.Abs(x - low);
        var toHigh = Math.Abs(high - x);
        if (toLow < toHigh)
        {
            return (ushort)(lowBits >> 16);
        }

        if (toHigh < toLow)
        {
            return (ushort)(highBits >> 16);
        }

        return ((lowBits >> 16) & 1) == 0 ? (ushort)(lowBits >> 16) : (ushort)(highBits >> 16);
    }

    private static float[] RandomFloats(int count, int seed)
    {
        var random = new Random(seed);
        var specials = new uint[]
        {
            0x0000_0000, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFF80_0001,
            0x7FFF_FFFF, 0xFFFF_FFFF, 0x0000_0001, 0x8000_0001, 0x007F_FFFF, 0x0080_0000, 0x0000_8000, 0x0001_8000,
            0x3F80_8000, 0x3F81_8000, 0x3F80_8001, 0x3F80_7FFF, 0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F7F_8000, 0x7F7F_7FFF,
        };
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            uint bits = (i % 7) switch
            {
                0 => specials[random.Next(specials.Length)],
                1 => ((uint)random.Next(0x1_0000) << 16) | 0x8000, // an exact tie
                2 => (uint)random.Next(0x80_0000) | (random.Next(2) == 0 ? 0u : 0x8000_0000u), // subnormal
                3 => 0x7F80_0000u | (uint)random.Next(1, 0x80_0000) | (random.Next(2) == 0 ? 0u : 0x8000_0000u), // NaN
                _ => (uint)random.NextInt64(0, 1L << 32),
            };
            values[i] = BitConverter.UInt32BitsToSingle(bits);
        }

        return values;
    }

    [Theory]
    [InlineData(0x3F80_8000u, (ushort)0x3F80)] // tie, even below
    [InlineData(0x3F81_8000u, (ushort)0x3F82)] // tie, odd below: rounds up
    [InlineData(0x3F80_8001u, (ushort)0x3F81)]
    [InlineData(0x3F80_7FFFu, (ushort)0x3F80)]
    [InlineData(0x7F7F_FFFFu, (ushort)0x7F80)] // max float rounds to infinity
    [InlineData(0xFF80_0000u, (ushort)0xFF80)]
    [InlineData(0x7F80_0001u, (ushort)0x7FC0)] // signalling NaN whose payload is below bit 16 stays NaN
    [InlineData(0xFFC1_2345u, (ushort)0xFFC1)]
    [InlineData(0x0000_8000u, (ushort)0x0000)] // subnormal tie to even zero
    public void FromSingle_rounds_known_values(uint bits, ushort expected) =>
        Assert.Equal(expected, BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(bits)));

    [Fact]
    public void Every_bf16_pattern_widens_exactly_and_round_trips()
    {
        for (var b = 0; b <= 0xFFFF; b++)
        {
            var bits = (ushort)b;
            var widened = BFloat16.ToSingle(bits);
            Assert.Equal((uint)b << 16, BitConverter.SingleToUInt32Bits(widened));
            if (float.IsNaN(widened))
            {
                Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(widened))));
            }
            else
            {
                Assert.Equal(bits, BFloat16.FromSingle(widened));
            }
        }
    }

    [Fact]
    public void Span_conversion_of_every_pattern_matches_shift()
    {
        var source = new ushort[0x1_0000 + 13]; // odd length exercises the scalar tail
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = (ushort)i;
        }

        var destination = new float[source.Length];
        BFloat16.ToSingle(source, destination);
        for (var i = 0; i < source.Length; i++)
        {
            Assert.Equal((uint)source[i] << 16, BitConverter.SingleToUInt32Bits(destination[i]));
        }
    }

    [Fact]
    public void Scalar_FromSingle_matches_independent_reference_on_random_bits()
    {
        foreach (var x in RandomFloats(1_000_003, seed: 1))
        {
            var expected = ReferenceRound(x);
            var actual = BFloat16.FromSingle(x);
            if (expected != actual)
            {
                Assert.Fail($"0x{BitConverter.SingleToUInt32Bits(x):X8}: expected 0x{expected:X4}, got 0x{actual:X4}");
            }
        }
    }

    [Fact]
    public void Vector_FromSingle_equals_reference_on_a_million_patterns()
    {
        var source = RandomFloats(1_000_003, seed: 2);
        var expected = source.Select(ReferenceRound).ToArray();

        var viaPublic = new ushort[source.Length];
        BFloat16.FromSingle(source, viaPublic);
        AssertSame(expected, viaPublic, source);

        // Each vector width directly, so a CPU without AVX-512 still checks the 512-bit code (emulated).
        foreach (var kernel in new Func<ReadOnlySpan<float>, Span<ushort>, int>[]
                 { BFloat16.FromSingle512, BFloat16.FromSingle256 })
        {
            var actual = new ushort[source.Length];
            var done = kernel(source, actual);
            Assert.True(done > source.Length - 64 && done <= source.Length);
            BFloat16.FromSingleScalar(source.AsSpan(done), actual.AsSpan(done));
            AssertSame(expected, actual, source);
        }
    }

    [Fact]
    public void Vector_ToSingle_kernels_equal_shift()
    {
        var random = new Random(3);
        var source = new ushort[100_003];
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = (ushort)random.Next(0x1_0000);
        }

        foreach (var kernel in new Func<ReadOnlySpan<ushort>, Span<float>, int>[]
                 { BFloat16.ToSingle512, BFloat16.ToSingle256 })
        {
            var actual = new float[source.Length];
            var done = kernel(source, actual);
            BFloat16.ToSingleScalar(source.AsSpan(done), actual.AsSpan(done));
            for (var i = 0; i < source.Length; i++)
            {
                Assert.Equal((uint)source[i] << 16, BitConverter.SingleToUInt32Bits(actual[i]));
            }
        }
    }

    [Fact]
    public void Round_is_widen_of_narrow()
    {
        Assert.Equal(1.0f, BFloat16.Round(1.00390625f)); // exact tie between 1 and 1.0078125 -> even
        Assert.Equal(BitConverter.UInt32BitsToSingle(0x3F82_0000), BFloat16.Round(BitConverter.UInt32BitsToSingle(0x3F81_8000)));
    }

    [Fact]
    public void Short_destination_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => BFloat16.FromSingle(new float[3], new ushort[2]));
        Assert.Throws<ArgumentException>(() => BFloat16.ToSingle(new ushort[3], new float[2]));
    }

    private static void AssertSame(ushort[] expected, ushort[] actual, float[] source)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i] != actual[i])
            {
                Assert.Fail($"index {i}, input 0x{BitConverter.SingleToUInt32Bits(source[i]):X8}: " +
                            $"expected 0x{expected[i]:X4}, got 0x{actual[i]:X4}");
            }
        }
    }
}
