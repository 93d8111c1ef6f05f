// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>model_stock</c>: moves from the base towards the average of N ≥ 2 fine-tuned models by a factor derived from the
/// angle between their task vectors: <c>t = N·cos / (1 + (N−1)·cos)</c>, <c>out = t·mean(xᵢ) + (1−t)·b</c>.
/// </summary>
/// <remarks>
/// <para>cos is the mean over pairs i &lt; j (recipe order) of <c>clamp(oᵢ·oⱼ / max(‖oᵢ‖‖oⱼ‖, 1e-6), −1, 1)</c>
/// with <c>oᵢ = xᵢ − b</c>, over the whole tensor, or per row (last dim; a 1-D tensor is one row) with
/// <c>filter_wise: true</c>. Per-model weights are ignored. Every torch op is rounded to the compute dtype D; the
/// mean of the models is summed in recipe order (Python's <c>sum</c>, each addition rounded) and divided by N.</para>
/// <para>Difference from mergekit: where <c>1 + (N−1)·cos</c> is (nearly) zero — the task vectors point apart with
/// cos = −1/(N−1) — mergekit divides by zero and writes inf/NaN. MergeBuild takes t = 0 there (keeps the base),
/// whenever |1 + (N−1)·cos| &lt; 1e-6.</para>
/// </remarks>
internal sealed class ReferenceModelStock : IMergeMethod
{
    /// <summary>|1 + (N−1)·cos| below which t is taken as 0 instead of dividing.</summary>
    public const double DenominatorGuard = 1e-6;

    public string Name => "model_stock";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? [.. inputDTypes, b] : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        float Round(float x) => FloatCodec.Round(dtype, x);
        var n = job.Inputs.Count;
        var baseValues = buffers.Base!.AsSpan(0, count);
        var output = buffers.Output.AsSpan(0, count);

        var offsets = new float[n][];
        for (var i = 0; i < n; i++)
        {
            offsets[i] = new float[count];
            TorchMath.Subtract(dtype, buffers.Inputs[i].AsSpan(0, count), baseValues, offsets[i]);
        }

        var layout = job.Parameter("filter_wise") != 0 ? VectorLayout.LastDim(job.Shape, count) : VectorLayout.Flat(count);
        var normFloor = Round(1e-6f);
        for (var v = 0; v < layout.Count; v++)
        {
            var norms = offsets.Select(o => TorchMath.Norm(dtype, o, layout, v)).ToArray();
            var cosSum = 0.0;
            var pairs = 0;
            for (var i = 0; i < n; i++)
            {
                for (var j = i + 1; j < n; j++)
                {
                    var product = Math.Max(Round(norms[i] * norms[j]), normFloor);
                    var dot = TorchMath.Dot(dtype, offsets[i], offsets[j], layout, v);
                    cosSum += Math.Clamp(Round(dot / product), -1f, 1f);
                    pairs++;
                }
            }

            var cos = Round((float)(cosSum / pairs));
            var denominator = Round(1 + Round((n - 1) * cos));
            var t = Math.Abs(denominator) < DenominatorGuard ? 0f : Round(Round(n * cos) / denominator);
            var keep = Round(1 - t);
            for (var k = 0; k < layout.Length; k++)
            {
                var e = layout.Index(v, k);
                var sum = 0f;
                for (var i = 0; i < n; i++)
                {
                    sum = Round(sum + buffers.Inputs[i][e]);
                }

                var average = Round(sum / n);
                output[e] = Round(Round(t * average) + Round(keep * baseValues[e]));
            }
        }
    }
}
