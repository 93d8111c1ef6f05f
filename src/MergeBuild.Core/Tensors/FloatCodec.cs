using System.Runtime.InteropServices;
using MergeBuild.Diagnostics;

namespace MergeBuild.Tensors;

/// <summary>
/// Converts raw little-endian tensor bytes of any floating-point dtype to float32 and back.
/// The merge kernels compute in float32 registers; these are the load and store ends of that pipeline.
/// </summary>
public static class FloatCodec
{
    private static readonly float[] E4M3Table = BuildF8Table(exponentBits: 4, bias: 7, finiteOnlyNaN: true);
    private static readonly float[] E5M2Table = BuildF8Table(exponentBits: 5, bias: 15, finiteOnlyNaN: false);

    /// <summary>Decodes <paramref name="destination"/>.Length elements of <paramref name="dtype"/> into float32.</summary>
    public static void ToSingle(DType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source)[..destination.Length].CopyTo(destination);
                break;
            case DType.BF16:
                BFloat16.ToSingle(MemoryMarshal.Cast<byte, ushort>(source)[..destination.Length], destination);
                break;
            case DType.F16:
                Float16.ToSingle(MemoryMarshal.Cast<byte, ushort>(source)[..destination.Length], destination);
                break;
            case DType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(source);
                for (var i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)doubles[i];
                }

                break;
            case DType.F8E4M3:
                Lookup(E4M3Table, source, destination);
                break;
            case DType.F8E5M2:
                Lookup(E5M2Table, source, destination);
                break;
            default:
                throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                    $"{DTypes.ToSafetensorsName(dtype)} tensors hold integers; merge methods only combine floating-point tensors.",
                    hint: "Integer buffers can only be copied (passthrough).");
        }
    }

    /// <summary>Encodes float32 values into <paramref name="dtype"/> (round to nearest even).</summary>
    public static void FromSingle(DType dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case DType.BF16:
                BFloat16.FromSingle(source, MemoryMarshal.Cast<byte, ushort>(destination)[..source.Length]);
                break;
            case DType.F16:
                Float16.FromSingle(source, MemoryMarshal.Cast<byte, ushort>(destination)[..source.Length]);
                break;
            case DType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(destination);
                for (var i = 0; i < source.Length; i++)
                {
                    doubles[i] = source[i];
                }

                break;
            default:
                throw new MergeBuildException(ErrorCodes.UnsupportedDType,
                    $"MergeBuild cannot write merged values as {DTypes.ToSafetensorsName(dtype)}.",
                    hint: "Use out_dtype bfloat16, float16 or float32.");
        }
    }

    /// <summary>
    /// Rounds float32 values to the precision of <paramref name="dtype"/> in place, as a cast to that dtype and back
    /// would (torch computing in bf16 rounds after every operation; this emulates it).
    /// </summary>
    public static void RoundTo(DType dtype, Span<float> values)
    {
        if (dtype is not (DType.BF16 or DType.F16))
        {
            return;
        }

        // Round-trip through the 16-bit format in small blocks: two vectorized passes over data already in L1.
        const int Block = 1024;
        Span<ushort> bits = stackalloc ushort[Block];
        for (var start = 0; start < values.Length; start += Block)
        {
            var block = values.Slice(start, Math.Min(Block, values.Length - start));
            var encoded = bits[..block.Length];
            if (dtype == DType.BF16)
            {
                BFloat16.FromSingle(block, encoded);
                BFloat16.ToSingle(encoded, block);
            }
            else
            {
                Float16.FromSingle(block, encoded);
                Float16.ToSingle(encoded, block);
            }
        }
    }

    /// <summary>Rounds one value to the precision of <paramref name="dtype"/> (identity for float32 and wider).</summary>
    public static float Round(DType dtype, float value) => dtype switch
    {
        DType.BF16 => BFloat16.Round(value),
        DType.F16 => Float16.Round(value),
        _ => value,
    };

    private static void Lookup(float[] table, ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = table[source[i]];
        }
    }

    // float8 formats: 1 sign bit, `exponentBits` exponent bits, the rest mantissa. E4M3FN has no infinities and a
    // single NaN pattern (all exponent and mantissa bits set); E5M2 follows IEEE rules.
    private static float[] BuildF8Table(int exponentBits, int bias, bool finiteOnlyNaN)
    {
        var mantissaBits = 7 - exponentBits;
        var table = new float[256];
        for (var b = 0; b < 256; b++)
        {
            var sign = (b & 0x80) != 0 ? -1.0 : 1.0;
            var exponent = (b >> mantissaBits) & ((1 << exponentBits) - 1);
            var mantissa = b & ((1 << mantissaBits) - 1);
            var maxExponent = (1 << exponentBits) - 1;
            double value;
            if (finiteOnlyNaN && exponent == maxExponent && mantissa == (1 << mantissaBits) - 1)
            {
                value = double.NaN;
            }
            else if (!finiteOnlyNaN && exponent == maxExponent)
            {
                value = mantissa == 0 ? double.PositiveInfinity : double.NaN;
            }
            else if (exponent == 0)
            {
                value = mantissa * Math.Pow(2, 1 - bias - mantissaBits);
            }
            else
            {
                value = (1 + mantissa / (double)(1 << mantissaBits)) * Math.Pow(2, exponent - bias);
            }

            table[b] = (float)(sign * value);
        }

        return table;
    }
}
