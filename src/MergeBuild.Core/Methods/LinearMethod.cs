using System.Numerics.Tensors;
using System.Runtime.InteropServices;
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

    public ITensorMerge Begin(TensorJob job) => new LinearTensorMerge(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        new LinearTensorMerge(job).Merge(buffers, chunk);
}

/// <summary>
/// One linear tensor: element-wise, and for bf16 inputs and output computed in bf16 or float32 the executor hands it
/// the stored bytes (<see cref="IStoredBytesMerge"/>), which <see cref="StoredWeightedSum"/> turns into the output's
/// stored bytes in one pass. Both paths share the rounded weights and divisor (<c>StoredWeightedSumTests</c>).
/// </summary>
internal sealed class LinearTensorMerge : ITensorMerge, IStoredBytesMerge
{
    private readonly TensorJob job;
    private readonly float[] weights;
    private readonly float divisor;
    private readonly bool normalize;

    public LinearTensorMerge(TensorJob job)
    {
        this.job = job;
        var dtype = job.ComputeDType;
        weights = [.. job.Inputs.Select(i => FloatCodec.Round(dtype, (float)i.Parameter("weight")))];
        var weightSum = 0f;
        foreach (var weight in weights)
        {
            weightSum += weight;
        }

        divisor = FloatCodec.Round(dtype, weightSum);
        normalize = job.Parameter("normalize") != 0;
        ReadsStoredBytes = job.Vocabulary is null && job.Base is null && (dtype is DType.BF16 or DType.F32) &&
                           job.OutputDType == DType.BF16 && job.Inputs.All(i => i.Tensor.DType == DType.BF16);
    }

    public int StatisticsPasses => 0;

    public bool ChunksAreIndependent => true;

    public bool ReadsStoredBytes { get; }

    public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk) =>
        throw new InvalidOperationException("linear merges have no statistics pass");

    public void EndPass(int pass)
    {
    }

    public void Merge(MergeBuffers buffers, MergeChunk chunk)
    {
        var output = buffers.Output.AsSpan(0, chunk.Count);
        output.Clear();
        for (var i = 0; i < weights.Length; i++)
        {
            // Vectorized over the chunk; the float32 sum runs in recipe order, as torch's reduction does.
            Fused.AddScaled(job.ComputeDType, buffers.Inputs[i].AsSpan(0, chunk.Count), weights[i], output);
        }

        Finish(output);
    }

    public void MergeStored(ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers, Span<byte> output) =>
        StoredWeightedSum.Compute(inputs, weights, chunk.Count, job.ComputeDType == DType.BF16, normalize ? divisor : null,
            MemoryMarshal.Cast<byte, ushort>(output));

    private void Finish(Span<float> output)
    {
        Rounding.InPlace(job.ComputeDType, output);
        if (normalize)
        {
            TensorPrimitives.Divide(output, divisor, output);
            Rounding.InPlace(job.ComputeDType, output);
        }
    }
}
