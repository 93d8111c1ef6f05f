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
