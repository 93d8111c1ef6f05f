using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace MergeBuild.Tensors;

/// <summary>
/// IEEE 754 half-precision conversions on raw <see cref="ushort"/> bits (the form they have in a safetensors
/// file), built on <see cref="Half"/> so rounding is the runtime's round-to-nearest-even. The span overloads use
/// <see cref="TensorPrimitives"/>, which is vectorized.
/// </summary>
public static class Float16
{
    /// <summary>Widens f16 bits to the float32 they represent (exact).</summary>
    public static float ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>Rounds a float32 to f16 bits, to nearest with ties to even; overflow gives infinity.</summary>
    public static ushort FromSingle(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>The float32 nearest to <paramref name="value"/> that f16 can represent.</summary>
    public static float Round(float value) => (float)(Half)value;

    /// <summary>Widens every element of <paramref name="source"/> (the spans must not overlap).</summary>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(destination));
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<ushort, Half>(source), destination);
    }

    /// <summary>Rounds every element of <paramref name="source"/> to f16 bits (the spans must not overlap).</summary>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(destination));
        TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<ushort, Half>(destination));
    }

    private static void CheckLengths(int sourceLength, int destinationLength, string paramName)
    {
        if (destinationLength < sourceLength)
        {
            throw new ArgumentException(
                $"The destination holds {destinationLength} elements but the source has {sourceLength}.", paramName);
        }
    }
}
