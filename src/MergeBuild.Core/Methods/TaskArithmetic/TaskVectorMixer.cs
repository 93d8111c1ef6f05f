using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// Combines (sparsified) task vectors into the merged tensor, as mergekit's GTA task does after sparsification:
/// vᵢ = wᵢ·dᵢ, optional TIES sign consensus, optional normalisation, lambda, and out = b + mixed.
/// </summary>
/// <remarks>
/// Every torch op is rounded to the compute dtype D; the sums over models accumulate in float32 in recipe order and
/// are rounded once.
/// </remarks>
internal static class TaskVectorMixer
{
    /// <param name="deltas">The task vectors, one per model in recipe order.</param>
    /// <param name="weights">The weights, already rounded to <paramref name="dtype"/>.</param>
    /// <param name="baseValues">The base model's values.</param>
    /// <param name="output">Receives b + mixed.</param>
    /// <param name="consensus">TIES sign election ("sum" rule) before mixing.</param>
    /// <param name="normalize">Divide by the summed weights (of the agreeing models, with consensus).</param>
    /// <param name="lambda">Scale of the merged task vector, applied after normalisation.</param>
    /// <param name="dtype">The compute dtype D.</param>
    /// <param name="offset">Index in each delta array of the value for output element 0.</param>
    public static void Mix(float[][] deltas, ReadOnlySpan<float> weights, ReadOnlySpan<float> baseValues,
        Span<float> output, bool consensus, bool normalize, double lambda, DType dtype, int offset = 0)
    {
        var models = weights.Length;
        Span<float> weighted = stackalloc float[models];
        var applyLambda = lambda != 1.0;
        var lambdaFactor = (float)lambda;

        // Without consensus the divisor is one number: Σw over all models, whatever their sparsifier dropped.
        var linearDivisor = 1f;
        if (!consensus)
        {
            var weightSum = 0f;
            foreach (var w in weights)
            {
                weightSum += w;
            }

            weightSum = FloatCodec.Round(dtype, weightSum);
            linearDivisor = Math.Abs(weightSum) < FloatCodec.Round(dtype, 1e-8f) ? 1f : weightSum;
        }

        for (var e = 0; e < output.Length; e++)
        {
            for (var i = 0; i < models; i++)
            {
                weighted[i] = FloatCodec.Round(dtype, deltas[i][offset + e] * weights[i]);
            }

            float mixed;
            float divisor;
            if (consensus)
            {
                (mixed, divisor) = Elect(weighted, weights, dtype);
            }
            else
            {
                mixed = Sum(weighted, dtype);
                divisor = linearDivisor;
            }

            if (normalize)
            {
                mixed = FloatCodec.Round(dtype, mixed / divisor);
            }

            if (applyLambda)
            {
                // tensor * Python number: formed in float32 and rounded once (torch >= 2.1).
                mixed = FloatCodec.Round(dtype, mixed * lambdaFactor);
            }

            output[e] = FloatCodec.Round(dtype, baseValues[e] + mixed);
        }
    }

    /// <summary>
    /// TIES "sum" election for one entry: the majority sign is that of Σvᵢ (zero elects +); models whose vᵢ has that
    /// sign are summed, and their weights form the divisor (0 → 1). A zero vᵢ has sign 0 and never agrees.
    /// </summary>
    private static (float Mixed, float Divisor) Elect(ReadOnlySpan<float> weighted, ReadOnlySpan<float> weights,
        DType dtype)
    {
        var majority = Sum(weighted, dtype) >= 0 ? 1 : -1;
        var mixed = 0f;
        var divisor = 0f;
        var first = true;
        for (var i = 0; i < weighted.Length; i++)
        {
            // sign(v) == majority; a zero (sign 0) or NaN never agrees. Math.Sign would throw on NaN.
            var sign = weighted[i] > 0 ? 1 : weighted[i] < 0 ? -1 : 0;
            if (sign != majority)
            {
                continue;
            }

            mixed = first ? weighted[i] : mixed + weighted[i];
            divisor = first ? weights[i] : divisor + weights[i];
            first = false;
        }

        divisor = FloatCodec.Round(dtype, divisor);
        return (FloatCodec.Round(dtype, mixed), divisor == 0 ? 1f : divisor);
    }

    private static float Sum(ReadOnlySpan<float> values, DType dtype)
    {
        var sum = values[0];
        for (var i = 1; i < values.Length; i++)
        {
            sum += values[i];
        }

        return FloatCodec.Round(dtype, sum);
    }
}
