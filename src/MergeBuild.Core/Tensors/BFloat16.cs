using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Tensors;

/// <summary>
/// bfloat16 conversions. .NET has no bfloat16 type, so a bf16 value is its raw <see cref="ushort"/> bits:
/// the upper half of the float32 with the same sign and exponent. Widening is exact; narrowing rounds to
/// nearest, ties to even, exactly as torch's <c>tensor.to(torch.bfloat16)</c> does, so merged outputs match
/// the reference bit for bit. The span overloads are vectorized and give results identical to the scalar ones.
/// </summary>
public static class BFloat16
{
    private const uint RoundingBias = 0x7FFF;
    private const uint QuietBit = 0x0040;
    private const uint AbsMask = 0x7FFF_FFFF;
    private const uint PositiveInfinityBits = 0x7F80_0000;

    /// <summary>Widens bf16 bits to the float32 they represent (exact).</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Rounds a float32 to bf16 bits, to nearest with ties to even. NaN stays NaN (made quiet).</summary>
    public static ushort FromSingle(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & AbsMask) > PositiveInfinityBits)
        {
            // Truncating a NaN could clear every mantissa bit and turn it into infinity; setting the quiet bit
            // keeps it a NaN (and matches torch, which returns a quiet NaN).
            return (ushort)((bits >> 16) | QuietBit);
        }

        // Adding 0x7FFF plus the lowest kept bit rounds half-way cases towards the even neighbour; a carry
        // out of the mantissa correctly bumps the exponent (and overflows to infinity at the top).
        return (ushort)((bits + RoundingBias + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>The float32 nearest to <paramref name="value"/> that bf16 can represent.</summary>
    public static float Round(float value) => ToSingle(FromSingle(value));

    /// <summary>Widens every element of <paramref name="source"/> (the spans must not overlap).</summary>
    public static void ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(destination));
        var done = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            done = ToSingle512(source, destination);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            done = ToSingle256(source, destination);
        }

        ToSingleScalar(source[done..], destination[done..]);
    }

    /// <summary>Rounds every element of <paramref name="source"/> to bf16 bits (the spans must not overlap).</summary>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(destination));
        var done = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            done = FromSingle512(source, destination);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            done = FromSingle256(source, destination);
        }

        FromSingleScalar(source[done..], destination[done..]);
    }

    // The per-width kernels are internal so tests can check each one against the scalar code on any CPU
    // (Vector512 operations are emulated where not accelerated). Each returns how many elements it converted.

    internal static int ToSingle512(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
        var step = Vector512<ushort>.Count;
        var i = 0;
        for (; i <= source.Length - step; i += step)
        {
            var (lower, upper) = Vector512.Widen(Vector512.LoadUnsafe(ref src, (nuint)i));
            Vector512.ShiftLeft(lower, 16).StoreUnsafe(ref dst, (nuint)i);
            Vector512.ShiftLeft(upper, 16).StoreUnsafe(ref dst, (nuint)(i + Vector512<uint>.Count));
        }

        return i;
    }

    internal static int ToSingle256(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(destination));
        var step = Vector256<ushort>.Count;
        var i = 0;
        for (; i <= source.Length - step; i += step)
        {
            var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
            Vector256.ShiftLeft(lower, 16).StoreUnsafe(ref dst, (nuint)i);
            Vector256.ShiftLeft(upper, 16).StoreUnsafe(ref dst, (nuint)(i + Vector256<uint>.Count));
        }

        return i;
    }

    internal static void ToSingleScalar(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = ToSingle(source[i]);
        }
    }

    internal static int FromSingle512(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        ref var src = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
        ref var dst = ref MemoryMarshal.GetReference(destination);
        var step = Vector512<ushort>.Count;
        var i = 0;
        for (; i <= source.Length - step; i += step)
        {
            var lower = Round512(Vector512.LoadUnsafe(ref src, (nuint)i));
            var upper = Round512(Vector512.LoadUnsafe(ref src, (nuint)(i + Vector512<uint>.Count)));
            Vector512.Narrow(lower, upper).StoreUnsafe(ref dst, (nuint)i);
        }

        return i;
    }

    internal static int FromSingle256(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        ref var src = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(source));
        ref var dst = ref MemoryMarshal.GetReference(destination);
        var step = Vector256<ushort>.Count;
        var i = 0;
        for (; i <= source.Length - step; i += step)
        {
            var lower = Round256(Vector256.LoadUnsafe(ref src, (nuint)i));
            var upper = Round256(Vector256.LoadUnsafe(ref src, (nuint)(i + Vector256<uint>.Count)));
            Vector256.Narrow(lower, upper).StoreUnsafe(ref dst, (nuint)i);
        }

        return i;
    }

    internal static void FromSingleScalar(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = FromSingle(source[i]);
        }
    }

    // The same arithmetic as the scalar FromSingle, lane by lane; results stay below 0x10000 so Narrow's
    // truncation to 16 bits loses nothing.
    private static Vector512<uint> Round512(Vector512<uint> bits)
    {
        var high = Vector512.ShiftRightLogical(bits, 16);
        var rounded = Vector512.ShiftRightLogical(bits + Vector512.Create(RoundingBias) + (high & Vector512<uint>.One), 16);
        var isNaN = Vector512.GreaterThan(bits & Vector512.Create(AbsMask), Vector512.Create(PositiveInfinityBits));
        return Vector512.ConditionalSelect(isNaN, high | Vector512.Create(QuietBit), rounded);
    }

    private static Vector256<uint> Round256(Vector256<uint> bits)
    {
        var high = Vector256.ShiftRightLogical(bits, 16);
        var rounded = Vector256.ShiftRightLogical(bits + Vector256.Create(RoundingBias) + (high & Vector256<uint>.One), 16);
        var isNaN = Vector256.GreaterThan(bits & Vector256.Create(AbsMask), Vector256.Create(PositiveInfinityBits));
        return Vector256.ConditionalSelect(isNaN, high | Vector256.Create(QuietBit), rounded);
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
