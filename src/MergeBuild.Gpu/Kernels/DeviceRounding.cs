using ILGPU;
using MergeBuild.Tensors;

namespace MergeBuild.Gpu.Kernels;

/// <summary>
/// Rounding a float32 to the compute dtype inside a kernel, with integer operations on the bits only: the same
/// results as <see cref="FloatCodec.Round"/> (bf16: <see cref="BFloat16.Round"/>; f16: .NET's
/// <c>(float)(Half)x</c>) for every input, NaNs included, on any device.
/// </summary>
internal static class DeviceRounding
{
    /// <summary>No rounding: float32 (and wider dtypes, which the CPU methods also compute in float32).</summary>
    public const int None = 0;

    public const int BFloat16 = 1;

    public const int Float16 = 2;

    private const uint AbsMask = 0x7FFF_FFFF;
    private const uint InfinityBits = 0x7F80_0000;
    private const uint QuietBit = 0x0040_0000;

    /// <summary>The rounding mode kernels use for <paramref name="dtype"/>.</summary>
    public static int ModeOf(DType dtype) => dtype switch
    {
        DType.BF16 => BFloat16,
        DType.F16 => Float16,
        _ => None,
    };

    public static float Round(int mode, float value) =>
        mode == BFloat16 ? Bf16(value) : mode == Float16 ? F16(value) : value;

    /// <summary>Round to nearest even at bit 16; a NaN is made quiet and truncated (as <see cref="BFloat16.FromSingle(float)"/>).</summary>
    public static float Bf16(float value)
    {
        var bits = Interop.FloatAsInt(value);
        if ((bits & AbsMask) > InfinityBits)
        {
            return Interop.IntAsFloat((bits | QuietBit) & 0xFFFF_0000);
        }

        return Interop.IntAsFloat((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF_0000);
    }

    /// <summary>
    /// Round to the nearest f16 value, ties to even: 10 mantissa bits in the normal range, multiples of 2⁻²⁴ below
    /// 2⁻¹⁴, infinity from 65520 on. A NaN is made quiet and truncated to f16's payload, as .NET's conversion does.
    /// </summary>
    public static float F16(float value)
    {
        var bits = Interop.FloatAsInt(value);
        var sign = bits & 0x8000_0000;
        var abs = bits & AbsMask;
        if (abs > InfinityBits)
        {
            return Interop.IntAsFloat((bits | QuietBit) & 0xFFFF_E000);
        }

        if (abs >= 0x3880_0000)
        {
            // At or above 2^-14, f16's smallest normal: drop 13 mantissa bits, ties to even; a carry moves the
            // exponent up. Anything above 65504 (f16's largest finite value) becomes infinity.
            var rounded = (abs + 0xFFF + ((abs >> 13) & 1)) & 0xFFFF_E000;
            return Interop.IntAsFloat(sign | (rounded > 0x477F_E000 ? InfinityBits : rounded));
        }

        return Interop.IntAsFloat(sign | Subnormal(abs));
    }

    /// <summary>|x| &lt; 2⁻¹⁴ rounded to a multiple of 2⁻²⁴ (f16's subnormal spacing), as float32 bits.</summary>
    private static uint Subnormal(uint abs)
    {
        // abs = mantissa · 2^(exponent − 150); in units of 2^-24 that is mantissa · 2^-(126 − exponent).
        var exponent = abs >> 23;
        var mantissa = exponent == 0 ? abs : (abs & 0x7F_FFFF) | 0x80_0000;
        var shift = (int)(126 - (exponent == 0 ? 1 : exponent));
        if (shift > 31)
        {
            shift = 31;
        }

        var units = mantissa >> shift;
        var remainder = mantissa & ((1u << shift) - 1);
        var half = 1u << (shift - 1);
        if (remainder > half || (remainder == half && (units & 1) != 0))
        {
            units++;
        }

        if (units == 0)
        {
            return 0;
        }

        // units ≤ 1024: its highest set bit p gives the float32 exponent p − 24 (biased p + 103).
        var top = 0;
        while ((units >> (top + 1)) != 0)
        {
            top++;
        }

        return ((uint)(top + 103) << 23) | ((units << (23 - top)) & 0x7F_FFFF);
    }
}
