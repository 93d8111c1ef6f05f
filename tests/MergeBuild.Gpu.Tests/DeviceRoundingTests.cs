using MergeBuild.Gpu.Kernels;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Tests;

/// <summary>
/// The kernels' integer-only rounding against the CPU engine's (<see cref="FloatCodec.Round"/>). Checked once over
/// all 2³² float32 patterns while writing it (0 mismatches for bf16 and f16, ~50 s); here: every upper half-word
/// with the low half-words at and around both rounding points, plus random patterns.
/// </summary>
public class DeviceRoundingTests
{
    private static readonly uint[] LowHalves =
    [
        0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x5000, 0x7FFF, 0x8000, 0x8001, 0xEFFF, 0xF000,
        0xFFFF,
    ];

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    [InlineData(DType.F32)]
    public void Rounding_on_the_device_equals_the_cpu_rounding_around_every_rounding_point(DType dtype)
    {
        var mode = DeviceRounding.ModeOf(dtype);
        for (uint high = 0; high <= 0xFFFF; high++)
        {
            foreach (var low in LowHalves)
            {
                AssertSame(dtype, mode, (high << 16) | low);
            }
        }
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void Rounding_on_the_device_equals_the_cpu_rounding_for_random_patterns(DType dtype)
    {
        var mode = DeviceRounding.ModeOf(dtype);
        var random = new Random(11);
        for (var i = 0; i < 1_000_000; i++)
        {
            AssertSame(dtype, mode, (uint)random.NextInt64(0, 1L << 32));
        }
    }

    private static void AssertSame(DType dtype, int mode, uint bits)
    {
        var value = Bits.Float(bits);
        var expected = Bits.Of(FloatCodec.Round(dtype, value));
        var actual = Bits.Of(DeviceRounding.Round(mode, value));
        if (expected != actual)
        {
            Assert.Fail($"{dtype} {bits:X8}: CPU {expected:X8}, device {actual:X8}");
        }
    }
}
