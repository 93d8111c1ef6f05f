// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Diagnostics;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>multislerp</c>: a weighted barycentre of any number of models on the unit hypersphere, each tensor one vector,
/// optionally of task vectors against a base.
/// </summary>
/// <remarks>
/// <para>In the compute dtype D, every op rounded to D as torch does: <c>τᵢ = xᵢ − b</c> (or xᵢ);
/// weights rounded to D and, with <c>normalize_weights</c> (default), divided by their sum; <c>nᵢ = ‖τᵢ‖</c>,
/// <c>uᵢ = τᵢ/(nᵢ + ε)</c>; <c>m = Σ wᵢuᵢ</c>, normalised; tangent vectors <c>tᵢ = uᵢ − (uᵢ·m)·m</c>;
/// <c>T = Σ wᵢtᵢ</c>, <c>‖T‖′ = ‖T‖ + ε</c>; <c>r = m·cos‖T‖′ + T·sin‖T‖′/‖T‖′</c>;
/// <c>out = r·Σ wᵢnᵢ (+ b)</c>. Like torch, ε (the <c>eps</c> parameter, 1e-8) is rounded to D before it is added.</para>
/// <para>One model: returned unchanged. ‖m‖ &lt; ε (antipodal inputs whose weights cancel): with two models the
/// weighted sum <c>w₀τ₀ + w₁τ₁ (+ b)</c>, as mergekit; with more, an error, as mergekit.</para>
/// </remarks>
internal sealed class ReferenceMultislerp : IMergeMethod
{
    public string Name => "multislerp";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var n = job.Inputs.Count;
        var output = buffers.Output.AsSpan(0, count);
        if (n == 1)
        {
            buffers.Inputs[0].AsSpan(0, count).CopyTo(output);
            return;
        }

        float Round(float x) => FloatCodec.Round(dtype, x);
        // torch rounds a Python number added to (or compared with) a tensor to the tensor's dtype.
        var epsD = Round((float)job.Parameter("eps"));
        var baseValues = buffers.Base;
        var tau = new float[n][];
        for (var i = 0; i < n; i++)
        {
            tau[i] = buffers.Inputs[i].AsSpan(0, count).ToArray();
            if (baseValues is not null)
            {
                TorchMath.Subtract(dtype, tau[i], baseValues, tau[i]);
            }
        }

        var weights = Weights(job, dtype);
        var norms = new float[n];
        var units = new float[n][];
        for (var i = 0; i < n; i++)
        {
            norms[i] = TorchMath.Norm(dtype, tau[i]);
            var divisor = Round(norms[i] + epsD);
            units[i] = new float[count];
            for (var e = 0; e < count; e++)
            {
                units[i][e] = Round(tau[i][e] / divisor);
            }
        }

        var mean = WeightedSum(dtype, units, weights, count);
        var meanNorm = TorchMath.Norm(dtype, mean);
        if (meanNorm < epsD)
        {
            Cancelled(job, dtype, tau, weights, baseValues, output);
            return;
        }

        for (var e = 0; e < count; e++)
        {
            mean[e] = Round(mean[e] / meanNorm);
        }

        // Project every unit vector onto the tangent space at the mean, in place.
        for (var i = 0; i < n; i++)
        {
            var dot = TorchMath.Dot(dtype, units[i], mean);
            for (var e = 0; e < count; e++)
            {
                units[i][e] = Round(units[i][e] - Round(dot * mean[e]));
            }
        }

        var tangent = WeightedSum(dtype, units, weights, count);
        var tangentNorm = Round(TorchMath.Norm(dtype, tangent) + epsD);
        var cos = Round(MathF.Cos(tangentNorm));
        var sinRatio = Round(Round(MathF.Sin(tangentNorm)) / tangentNorm);

        var scaleSum = 0.0;
        for (var i = 0; i < n; i++)
        {
            scaleSum += Round(norms[i] * weights[i]);
        }

        var scale = Round((float)scaleSum);
        for (var e = 0; e < count; e++)
        {
            var value = Round(Round(Round(mean[e] * cos) + Round(tangent[e] * sinRatio)) * scale);
            output[e] = baseValues is null ? value : Round(value + baseValues[e]);
        }
    }

    /// <summary><c>torch.tensor(weight, dtype=D)</c>, divided by its rounded sum with <c>normalize_weights</c>.</summary>
    private static float[] Weights(TensorJob job, DType dtype)
    {
        var weights = job.Inputs.Select(i => FloatCodec.Round(dtype, (float)i.Parameter("weight"))).ToArray();
        if (job.Parameter("normalize_weights") == 0)
        {
            return weights;
        }

        var sum = 0.0;
        foreach (var w in weights)
        {
            sum += w;
        }

        var total = FloatCodec.Round(dtype, (float)sum);
        return weights.Select(w => FloatCodec.Round(dtype, w / total)).ToArray();
    }

    /// <summary><c>(v * w.view(-1, 1)).sum(0)</c>: products rounded to D, summed over models in order, rounded once.</summary>
    private static float[] WeightedSum(DType dtype, float[][] vectors, float[] weights, int count)
    {
        var result = new float[count];
        for (var e = 0; e < count; e++)
        {
            var sum = 0.0;
            for (var i = 0; i < vectors.Length; i++)
            {
                sum += FloatCodec.Round(dtype, vectors[i][e] * weights[i]);
            }

            result[e] = FloatCodec.Round(dtype, (float)sum);
        }

        return result;
    }

    /// <summary>The weighted unit vectors cancel: mergekit lerps two models and gives up on more.</summary>
    private static void Cancelled(TensorJob job, DType dtype, float[][] tau, float[] weights, float[]? baseValues,
        Span<float> output)
    {
        if (tau.Length != 2)
        {
            throw new MergeBuildException(ErrorCodes.ParameterOutOfRange,
                $"multislerp: the weighted unit vectors of {job.OutputName} sum to zero (antipodal models whose " +
                "weights cancel), so the spherical mean has no direction.", job.Inputs[0].Location,
                "Use different weights for the models whose tensors point in opposite directions.");
        }

        for (var e = 0; e < output.Length; e++)
        {
            var value = FloatCodec.Round(dtype,
                FloatCodec.Round(dtype, tau[0][e] * weights[0]) + FloatCodec.Round(dtype, tau[1][e] * weights[1]));
            output[e] = baseValues is null ? value : FloatCodec.Round(dtype, value + baseValues[e]);
        }
    }
}
