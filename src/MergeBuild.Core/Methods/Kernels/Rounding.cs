using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// Rounds float32 values to the precision of the compute dtype in registers: the step that emulates torch computing
/// in bf16 (every operation's result is rounded to bf16). One pass, vectorized; identical to
/// <see cref="BFloat16.Round"/> element by element.
/// </summary>
public static class Rounding
{
    /// <summary>Rounds <paramref name="values"/> in place to <paramref name="dtype"/> (a no-op for float32).</summary>
    public static void InPlace(DType dtype, Span<float> values)
    {
        switch (dtype)
        {
            case DType.BF16:
                Bf16InPlace(values);
                break;
            case DType.F16:
                FloatCodec.RoundTo(DType.F16, values);
                break;
        }
    }

    /// <summary>
    /// <paramref name="value"/> rounded to bf16 when the compute dtype is bf16 (<paramref name="toBf16"/>), unchanged
    /// for float32: the step after every torch op in a kernel compiled for both.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Bf16If(bool toBf16, float value) => toBf16 ? BFloat16.Round(value) : value;

    /// <inheritdoc cref="Bf16If(bool, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Bf16If(bool toBf16, Vector512<float> value) => toBf16 ? Bf16(value) : value;

    /// <inheritdoc cref="Bf16If(bool, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Bf16If(bool toBf16, Vector256<float> value) => toBf16 ? Bf16(value) : value;

    /// <summary>One vector rounded to bf16 (round to nearest even; NaN stays a quiet NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Bf16(Vector512<float> value)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) & Vector512.Create(0xFFFF0000u);
        var quietNaN = (bits | Vector512.Create(0x00400000u)) & Vector512.Create(0xFFFF0000u);
        var isNaN = ~Vector512.Equals(value, value).AsUInt32();
        return Vector512.ConditionalSelect(isNaN, quietNaN, rounded).AsSingle();
    }

    /// <inheritdoc cref="Bf16(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Bf16(Vector256<float> value)
    {
        var bits = value.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) & Vector256.Create(0xFFFF0000u);
        var quietNaN = (bits | Vector256.Create(0x00400000u)) & Vector256.Create(0xFFFF0000u);
        var isNaN = ~Vector256.Equals(value, value).AsUInt32();
        return Vector256.ConditionalSelect(isNaN, quietNaN, rounded).AsSingle();
    }

    /// <summary>
    /// One vector rounded to bf16, for a result of IEEE arithmetic whose NaN operands, if any, have a zero lower half:
    /// bit for bit what <see cref="Bf16(Vector512{float})"/> gives it, without the NaN compare and select.
    /// </summary>
    /// <remarks>
    /// <para>The operands qualify when they are bf16 values (stored, or rounded to bf16), finite float32 values, or
    /// float32 values converted from doubles that came from float32 or from parsing (the canonical NaN); that is every
    /// operand of the stored-bytes kernels. A result's NaN is then a quiet NaN with a zero lower half: the hardware
    /// quiets a NaN operand and keeps its payload, and its own NaN (0·∞, ∞ − ∞) is 0xFFC00000. Rounding leaves such a
    /// NaN unchanged both ways: adding at most 0x8000 to a zero lower half cannot carry into the upper half, and the
    /// quiet bit is already set. Infinities and overflow round correctly without the select.</para>
    /// <para>Measured on the kernels that round after every op: task arithmetic's stored-bytes kernel took 943-1032
    /// instead of 1303-1650 perf samples for a 3 × 1 GB merge (the select is three of the rounding's eleven
    /// instructions).</para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Bf16OfBf16Math(Vector512<float> value)
    {
        var bits = value.AsUInt32();
        return ((bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) & Vector512.Create(0xFFFF0000u))
            .AsSingle();
    }

    /// <inheritdoc cref="Bf16OfBf16Math(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Bf16OfBf16Math(Vector256<float> value)
    {
        var bits = value.AsUInt32();
        return ((bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) & Vector256.Create(0xFFFF0000u))
            .AsSingle();
    }

    /// <summary><see cref="Bf16OfBf16Math(Vector512{float})"/> when the compute dtype is bf16, unchanged for float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Bf16OfBf16MathIf(bool toBf16, Vector512<float> value) =>
        toBf16 ? Bf16OfBf16Math(value) : value;

    /// <inheritdoc cref="Bf16OfBf16MathIf(bool, Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Bf16OfBf16MathIf(bool toBf16, Vector256<float> value) =>
        toBf16 ? Bf16OfBf16Math(value) : value;

    private static void Bf16InPlace(Span<float> values)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Bf16(Vector512.Create(values.Slice(i, Vector512<float>.Count))).CopyTo(values.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Bf16(Vector256.Create(values.Slice(i, Vector256<float>.Count))).CopyTo(values.Slice(i));
            }
        }

        for (; i < values.Length; i++)
        {
            values[i] = BFloat16.Round(values[i]);
        }
    }
}
