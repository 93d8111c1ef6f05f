using System.Runtime.Intrinsics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// mergekit's <c>rescale</c>: after sparsification the kept entries are scaled so the task vector's L1 norm matches
/// the original one, out = masked · (Σ|d| / Σ|masked|), one factor per tensor per model. It is skipped when either
/// norm is below 1e-7 (nothing sensible to match). This is not DARE's 1/density nor DELLA's 1/pᵢ.
/// </summary>
internal static class L1Rescale
{
    /// <summary>Σ|x| as torch computes it in <paramref name="dtype"/>: accumulated wide, rounded once.</summary>
    /// <remarks>
    /// Accumulated in double and rounded to float32, then to the dtype. torch sums float32 by cascaded pairs, which
    /// can differ from this exactly rounded sum in the last bit; the double sum is independent of any ordering.
    /// </remarks>
    public static float Norm(ReadOnlySpan<float> values, DType dtype)
    {
        var sum = 0.0;
        foreach (var v in values)
        {
            sum += Math.Abs(v);
        }

        return FloatCodec.Round(dtype, (float)sum);
    }

    /// <summary>Scales <paramref name="masked"/> in place to the L1 norm <paramref name="before"/> it had unmasked.</summary>
    public static void Apply(Span<float> masked, float before, DType dtype)
    {
        if (Ratio(before, Norm(masked, dtype), dtype) is not { } ratio)
        {
            return;
        }

        for (var i = 0; i < masked.Length; i++)
        {
            masked[i] = FloatCodec.Round(dtype, masked[i] * ratio);
        }
    }

    /// <summary>
    /// The factor D(before / after) the kept entries are multiplied by, or null where rescaling is skipped (either
    /// norm below 1e-7).
    /// </summary>
    public static float? Ratio(float before, float after, DType dtype)
    {
        // torch compares a 0-dim tensor with a Python number in the tensor's dtype.
        var eps = FloatCodec.Round(dtype, 1e-7f);
        if (before < eps || after < eps)
        {
            return null;
        }

        return FloatCodec.Round(dtype, before / after);
    }

    /// <summary><c>values[i] = D(values[i] · ratio)</c>, vectorized: the streamed form of <see cref="Apply"/>'s loop.</summary>
    public static void Scale(Span<float> values, float ratio, DType dtype)
    {
        if (float.IsNaN(ratio))
        {
            // Every product is NaN. Where the value is a NaN too, the scalar loop returns whichever operand the JIT
            // put first; the stream fixes it as the ratio's, the same in every chunk.
            values.Fill(ratio);
            Kernels.Rounding.InPlace(dtype, values);
            return;
        }

        if (dtype == DType.BF16 && Vector512.IsHardwareAccelerated)
        {
            // Multiply and round in registers, one pass.
            var factor = Vector512.Create(ratio);
            var i = 0;
            for (; i <= values.Length - 16; i += 16)
            {
                Kernels.Rounding.Bf16(Vector512.Create(values.Slice(i, 16)) * factor).CopyTo(values.Slice(i));
            }

            for (; i < values.Length; i++)
            {
                values[i] = FloatCodec.Round(dtype, values[i] * ratio);
            }

            return;
        }

        System.Numerics.Tensors.TensorPrimitives.Multiply(values, ratio, values);
        Kernels.Rounding.InPlace(dtype, values);
    }
}
