// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>sce</c> (select, calculate, erase): keeps the entries whose task vectors vary most across models, weights
/// each model by its mean squared task vector, and averages the task vectors that agree with the elected sign.
/// </summary>
/// <remarks>
/// In the compute dtype D, per tensor: τᵢ = xᵢ − b; when <c>select_topk</c> &lt; 1, every τᵢ is zeroed outside
/// the k entries of largest population variance across models, k = int(float32(count_nonzero(var)) ·
/// float32(select_topk)) (ties by lower flat index); mᵢ = [sign(τᵢ) = (Στⱼ ≥ 0 ? +1 : −1)] on the unweighted τ;
/// ωᵢ = mean(τᵢ²) / Σⱼ mean(τⱼ²), or 1/n when that sum is under 1e-6; out = b + Σ ωᵢmᵢτᵢ / max(Σ ωᵢmᵢ, 1e-6).
/// mergekit emits a wrongly shaped tensor when k = 0 (all variances zero); MergeBuild returns b there.
/// </remarks>
internal sealed class ReferenceSce : IMergeMethod
{
    public string Name => "sce";

    public bool IsElementwise => false;

    // τ = x − b follows torch promotion between each model and the base (no cast to the base dtype).
    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var baseValues = buffers.Base!;
        var output = buffers.Output.AsSpan(0, count);
        var n = job.Inputs.Count;
        if (n == 0)
        {
            baseValues.AsSpan(0, count).CopyTo(output);
            return;
        }

        var tau = TaskVectors.Compute(job, buffers, count);
        var selectTopK = job.Parameter("select_topk");
        if (selectTopK < 1 && !Select(tau, count, selectTopK, dtype))
        {
            baseValues.AsSpan(0, count).CopyTo(output);
            return;
        }

        var weights = MatrixWeights(tau, count, dtype);
        var minDivisor = FloatCodec.Round(dtype, 1e-6f);
        for (var e = 0; e < count; e++)
        {
            var signSum = 0f;
            for (var i = 0; i < n; i++)
            {
                signSum += tau[i][e];
            }

            // Exact zeros have sign 0 and so never agree with the elected ±1.
            var elected = FloatCodec.Round(dtype, signSum) >= 0 ? 1 : -1;
            float mixed = 0, divisor = 0;
            for (var i = 0; i < n; i++)
            {
                var erased = Math.Sign(tau[i][e]) == elected ? weights[i] : 0f;
                mixed += FloatCodec.Round(dtype, tau[i][e] * erased);
                divisor += erased;
            }

            mixed = FloatCodec.Round(dtype, mixed);
            divisor = Math.Max(FloatCodec.Round(dtype, divisor), minDivisor);
            output[e] = FloatCodec.Round(dtype, baseValues[e] + FloatCodec.Round(dtype, mixed / divisor));
        }
    }

    /// <summary>Zeros every task vector outside the top-variance entries; false when k = 0 (nothing selected).</summary>
    private static bool Select(float[][] tau, int count, double selectTopK, DType dtype)
    {
        var variance = VarianceSelection.PopulationVariance(tau, count, dtype);
        var k = VarianceSelection.TopCount(variance, selectTopK);
        if (k <= 0)
        {
            return false;
        }

        var keep = VarianceSelection.TopK(variance, k);
        foreach (var t in tau)
        {
            for (var e = 0; e < count; e++)
            {
                // τ · 0 keeps torch's signed zero; sign() of either zero is 0, so only the value matters.
                t[e] = keep[e] ? t[e] : t[e] * 0f;
            }
        }

        return true;
    }

    /// <summary>
    /// ωᵢ = mean(τᵢ²)/Σⱼ mean(τⱼ²) in D: squares rounded to D, the whole-tensor sum accumulated in double (torch's
    /// cascade sum is far closer to that than to a running float32 sum), divided by numel in float32 and rounded.
    /// </summary>
    private static float[] MatrixWeights(float[][] tau, int count, DType dtype)
    {
        var n = tau.Length;
        var weights = new float[n];
        var total = 0f;
        for (var i = 0; i < n; i++)
        {
            double sum = 0;
            foreach (var v in tau[i].AsSpan(0, count))
            {
                sum += FloatCodec.Round(dtype, v * v);
            }

            weights[i] = FloatCodec.Round(dtype, (float)sum / count);
            total += weights[i];
        }

        total = FloatCodec.Round(dtype, total);
        for (var i = 0; i < n; i++)
        {
            weights[i] = Math.Abs(total) < 1e-6
                ? FloatCodec.Round(dtype, 1f / n)
                : FloatCodec.Round(dtype, weights[i] / total);
        }

        return weights;
    }
}
