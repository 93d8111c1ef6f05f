// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>ram</c> (Reinforced Agent Merging): an entry changed by one model takes that model's task vector; an entry
/// changed by several takes the mean of their task vectors; entries with |τᵢ| ≤ ε count as unchanged.
/// </summary>
/// <remarks>
/// In the compute dtype D: τᵢ = xᵢ − b; nzᵢ = |τᵢ| &gt; D(ε); c = Σᵢ nzᵢ;
/// out = b + Σᵢ (c = 1 ? τᵢ·nzᵢ : τᵢ·nzᵢ / c), each division and the float32 sum over models rounded to D.
/// </remarks>
internal sealed class ReferenceRam : IMergeMethod
{
    public string Name => "ram";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var baseValues = buffers.Base!;
        var output = buffers.Output.AsSpan(0, count);
        var tau = TaskVectors.Compute(job, buffers, count);
        var contributions = RamContributions.Find(tau, count, job.Parameter("epsilon"), dtype);
        for (var e = 0; e < count; e++)
        {
            var merged = 0f;
            for (var i = 0; i < tau.Length; i++)
            {
                merged += contributions.IsUnique(i, e) ? tau[i][e] : contributions.SharedTerm(tau, i, e, dtype);
            }

            output[e] = FloatCodec.Round(dtype, baseValues[e] + FloatCodec.Round(dtype, merged));
        }
    }
}
