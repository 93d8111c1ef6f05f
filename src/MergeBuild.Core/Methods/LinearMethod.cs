using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// <c>linear</c>: the weighted average Σ wᵢxᵢ / Σ wᵢ (or the plain weighted sum with <c>normalize: false</c>).
/// </summary>
/// <remarks>
/// Follows mergekit's torch arithmetic in the compute dtype D: weights are rounded to D, each product wᵢ·xᵢ is
/// rounded to D, the products are summed in float32 in recipe order and the sum rounded to D, then divided by the
/// D-rounded weight sum and rounded again. In float32 every rounding is the identity. Like mergekit there is no
/// guard for Σ wᵢ = 0 (the result is inf/NaN); the validator warns about it instead.
/// </remarks>
public sealed class LinearMethod : IMergeMethod
{
    public string Name => "linear";

    public bool IsElementwise => true;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var n = job.Inputs.Count;
        Span<float> weights = stackalloc float[n];
        var weightSum = 0f;
        for (var i = 0; i < n; i++)
        {
            weights[i] = FloatCodec.Round(dtype, (float)job.Inputs[i].Parameter("weight"));
            weightSum += weights[i];
        }

        weightSum = FloatCodec.Round(dtype, weightSum);
        var normalize = job.Parameter("normalize") != 0;
        var output = buffers.Output.AsSpan(0, count);

        for (var e = 0; e < count; e++)
        {
            var sum = 0f;
            for (var i = 0; i < n; i++)
            {
                sum += FloatCodec.Round(dtype, weights[i] * buffers.Inputs[i][e]);
            }

            sum = FloatCodec.Round(dtype, sum);
            output[e] = normalize ? FloatCodec.Round(dtype, sum / weightSum) : sum;
        }
    }
}
