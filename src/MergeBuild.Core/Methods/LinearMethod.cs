using System.Numerics.Tensors;
using MergeBuild.Methods.Kernels;
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
        var weightSum = 0f;
        var output = buffers.Output.AsSpan(0, count);
        output.Clear();
        for (var i = 0; i < n; i++)
        {
            var weight = FloatCodec.Round(dtype, (float)job.Inputs[i].Parameter("weight"));
            weightSum += weight;
            // Vectorized over the chunk; the float32 sum runs in recipe order, as torch's reduction does.
            Fused.AddScaled(dtype, buffers.Inputs[i].AsSpan(0, count), weight, output);
        }

        Rounding.InPlace(dtype, output);
        if (job.Parameter("normalize") != 0)
        {
            TensorPrimitives.Divide(output, FloatCodec.Round(dtype, weightSum), output);
            Rounding.InPlace(dtype, output);
        }
    }
}
