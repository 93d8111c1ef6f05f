using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MergeBuild.Eval.Inference;

/// <summary>
/// Reductions whose summation order depends only on the length. TensorPrimitives' Sum and Dot pick blocks by the
/// memory address on long inputs, so the same values at another address could round differently; these never do,
/// which keeps results identical between runs, batch layouts and thread counts.
/// </summary>
internal static class FixedOrder
{
    private const int Lanes = 16;

    /// <summary>Σ a[i]·b[i]: 16 lane sums by fused multiply-add, the lanes added as a fixed tree, then the tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var acc = Vector512<float>.Zero;
        var i = 0;
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        for (; i + Lanes <= a.Length; i += Lanes)
        {
            acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref ra, (nuint)i),
                Vector512.LoadUnsafe(ref rb, (nuint)i), acc);
        }

        var sum = SumLanes(acc);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>Σ a[i]².</summary>
    public static float SumOfSquares(ReadOnlySpan<float> a) => Dot(a, a);

    /// <summary>Σ a[i] in index order (short spans: attention probabilities).</summary>
    public static float Sum(ReadOnlySpan<float> a)
    {
        var sum = 0f;
        foreach (var value in a)
        {
            sum += value;
        }

        return sum;
    }

    /// <summary>
    /// output = Σ_t weights[t] · rows[t], where row t is <paramref name="output"/>.Length floats at
    /// <c>start + t·stride</c> of <paramref name="rows"/>; each element accumulates over t in order by fused
    /// multiply-add. (Attention's probability-weighted sum of value vectors.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightedSum(ReadOnlySpan<float> weights, float[] rows, int start, int stride, Span<float> output)
    {
        ref var r = ref rows[start];
        var c = 0;
        for (; c + Lanes <= output.Length; c += Lanes)
        {
            var acc = Vector512<float>.Zero;
            for (var t = 0; t < weights.Length; t++)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(weights[t]),
                    Vector512.LoadUnsafe(ref r, (nuint)(t * stride + c)), acc);
            }

            acc.StoreUnsafe(ref MemoryMarshal.GetReference(output), (nuint)c);
        }

        for (; c < output.Length; c++)
        {
            var acc = 0f;
            for (var t = 0; t < weights.Length; t++)
            {
                acc = MathF.FusedMultiplyAdd(weights[t], Unsafe.Add(ref r, t * stride + c), acc);
            }

            output[c] = acc;
        }
    }

    // A fixed pairwise tree (halves, then quarters, then the last four in order), the same on every vector width.
    private static float SumLanes(Vector512<float> v)
    {
        var quarter = v.GetLower() + v.GetUpper();
        var eighth = quarter.GetLower() + quarter.GetUpper();
        return (eighth.GetElement(0) + eighth.GetElement(1)) + (eighth.GetElement(2) + eighth.GetElement(3));
    }
}
