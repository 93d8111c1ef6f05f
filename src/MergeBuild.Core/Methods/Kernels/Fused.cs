using System.Runtime.Intrinsics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Kernels;

/// <summary>
/// Fused element-wise steps the methods share, each one pass over cache-resident chunk buffers with the compute
/// dtype's rounding applied in registers after every operation, exactly where torch would round.
/// </summary>
public static class Fused
{
    /// <summary><c>acc[i] += round(x[i] · w)</c>: one weighted term of a sum (the product rounded, the sum not).</summary>
    public static void AddScaled(DType dtype, ReadOnlySpan<float> x, float w, Span<float> acc)
    {
        var bf16 = dtype == DType.BF16;
        var i = 0;
        if (dtype is DType.F32 or DType.BF16 && Vector512.IsHardwareAccelerated)
        {
            var weight = Vector512.Create(w);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var product = Vector512.Create(x.Slice(i, Vector512<float>.Count)) * weight;
                if (bf16)
                {
                    product = Rounding.Bf16(product);
                }

                (Vector512.Create(acc.Slice(i, Vector512<float>.Count)) + product).CopyTo(acc.Slice(i));
            }
        }
        else if (dtype is DType.F32 or DType.BF16 && Vector256.IsHardwareAccelerated)
        {
            var weight = Vector256.Create(w);
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var product = Vector256.Create(x.Slice(i, Vector256<float>.Count)) * weight;
                if (bf16)
                {
                    product = Rounding.Bf16(product);
                }

                (Vector256.Create(acc.Slice(i, Vector256<float>.Count)) + product).CopyTo(acc.Slice(i));
            }
        }

        for (; i < x.Length; i++)
        {
            acc[i] += FloatCodec.Round(dtype, x[i] * w);
        }
    }

    /// <summary><c>d[i] = round(x[i] − b[i])</c>: a task vector in the compute dtype (d may be x).</summary>
    public static void Difference(DType dtype, ReadOnlySpan<float> x, ReadOnlySpan<float> b, Span<float> d)
    {
        if (dtype != DType.BF16)
        {
            System.Numerics.Tensors.TensorPrimitives.Subtract(x, b, d);
            Rounding.InPlace(dtype, d);
            return;
        }

        // bf16: subtract and round in registers, one pass instead of two.
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Rounding.Bf16(Vector512.Create(x.Slice(i, Vector512<float>.Count)) - Vector512.Create(b.Slice(i, Vector512<float>.Count)))
                    .CopyTo(d.Slice(i));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Rounding.Bf16(Vector256.Create(x.Slice(i, Vector256<float>.Count)) - Vector256.Create(b.Slice(i, Vector256<float>.Count)))
                    .CopyTo(d.Slice(i));
            }
        }

        for (; i < x.Length; i++)
        {
            d[i] = FloatCodec.Round(dtype, x[i] - b[i]);
        }
    }
}
