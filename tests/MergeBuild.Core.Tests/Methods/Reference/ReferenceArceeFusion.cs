// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>arcee_fusion</c>: takes the other model's value only where its change from the base is important — where
/// |x − b| times the row's softmax KL divergence is an outlier (at least median + 1.5·IQR of the tensor's scores).
/// </summary>
/// <remarks>
/// In the compute dtype D, rows along the last dimension (a 1-D tensor is one row): p = softmax(x) + 1e-8,
/// q = softmax(b) + 1e-8, KL = Σ p·log(p/q) per row, I = |x − b|·KL, thr from <see cref="FusionThreshold"/>,
/// out = b + (x − b)·[I ≥ thr]. mergekit's mask is a float32 tensor, so the last product and sum are float32 and the
/// result is not rounded to D. Softmax and the row sums use float32 exp/log with double accumulation; torch's
/// vectorised kernels may differ in the last bit of an intermediate, which can only move an element that sits exactly
/// on the threshold.
/// </remarks>
internal sealed class ReferenceArceeFusion : IMergeMethod
{
    public string Name => "arcee_fusion";

    public bool IsElementwise => false;

    /// <summary>mergekit's result is float32 here (see the class remarks), so that is what is written by default.</summary>
    public DType DefaultOutputDType(DType computeDType) => computeDType == DType.F64 ? DType.F64 : DType.F32;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var baseValues = buffers.Base!.AsSpan(0, count);
        var output = buffers.Output.AsSpan(0, count);
        if (job.Inputs.Count == 0)
        {
            baseValues.CopyTo(output);
            return;
        }

        var model = buffers.Inputs[0].AsSpan(0, count);
        var delta = TaskVectors.Compute(job, buffers, count)[0];
        var importance = Importance(model, baseValues, delta, TaskVectors.LastDimension(job), dtype);
        var threshold = FusionThreshold.Compute(importance, dtype);
        for (var e = 0; e < count; e++)
        {
            var keep = importance[e] >= threshold ? 1f : 0f;
            output[e] = baseValues[e] + delta[e] * keep;
        }
    }

    /// <summary>I = D(|x − b| · KL(row)) for every element.</summary>
    private static float[] Importance(ReadOnlySpan<float> model, ReadOnlySpan<float> baseValues, float[] delta, int row,
        DType dtype)
    {
        var count = model.Length;
        var importance = new float[count];
        var p = new float[row];
        var q = new float[row];
        var epsilon = FloatCodec.Round(dtype, 1e-8f);
        for (var start = 0; start + row <= count && row > 0; start += row)
        {
            Softmax(model.Slice(start, row), p, dtype, epsilon);
            Softmax(baseValues.Slice(start, row), q, dtype, epsilon);
            double sum = 0;
            for (var j = 0; j < row; j++)
            {
                var ratio = FloatCodec.Round(dtype, p[j] / q[j]);
                sum += FloatCodec.Round(dtype, p[j] * FloatCodec.Round(dtype, MathF.Log(ratio)));
            }

            var kl = FloatCodec.Round(dtype, (float)sum);
            for (var j = start; j < start + row; j++)
            {
                importance[j] = FloatCodec.Round(dtype, Math.Abs(delta[j]) * kl);
            }
        }

        return importance;
    }

    /// <summary>D(D(softmax(x)) + ε): exp(x − max) scaled by 1/Σ, as torch's last-dim softmax kernel does.</summary>
    private static void Softmax(ReadOnlySpan<float> x, float[] result, DType dtype, float epsilon)
    {
        var max = float.NegativeInfinity;
        foreach (var v in x)
        {
            max = Math.Max(max, v);
        }

        double sum = 0;
        for (var j = 0; j < x.Length; j++)
        {
            result[j] = MathF.Exp(x[j] - max);
            sum += result[j];
        }

        var scale = 1f / (float)sum;
        for (var j = 0; j < x.Length; j++)
        {
            result[j] = FloatCodec.Round(dtype, FloatCodec.Round(dtype, result[j] * scale) + epsilon);
        }
    }
}
