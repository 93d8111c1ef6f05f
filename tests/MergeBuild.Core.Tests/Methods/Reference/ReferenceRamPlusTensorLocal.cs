// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>ramplus_tl</c> (RAM+, tensor-local): RAM, with each model's unique entries boosted by
/// λᵢ = 1 + r·clamp(ρᵢ, 0, α), where ρᵢ = (its shared entries) / max(its unique entries, ε) within this tensor.
/// </summary>
/// <remarks>
/// mergekit builds λ as a float32 tensor, so the unique term τᵢ·λᵢ, the sum over models and b + Σ are float32
/// (torch promotes a bf16/f16 tensor times a float32 one): unlike <c>ram</c>, the result is not rounded to the
/// compute dtype; only the shared terms τᵢ / c are. ρᵢ = 0 whenever model i has no shared entry — mergekit gets
/// 0/0 = NaN there when ε = 0 and the model has no unique entry either; with ε &gt; 0 both agree.
/// </remarks>
internal sealed class ReferenceRamPlusTensorLocal : IMergeMethod
{
    public string Name => "ramplus_tl";

    public bool IsElementwise => false;

    /// <summary>mergekit's result is float32 here (see the class remarks), so that is what is written by default.</summary>
    public DType DefaultOutputDType(DType computeDType) => computeDType == DType.F64 ? DType.F64 : DType.F32;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var baseValues = buffers.Base!;
        var output = buffers.Output.AsSpan(0, count);
        var tau = TaskVectors.Compute(job, buffers, count);
        var epsilon = job.Parameter("epsilon");
        var contributions = RamContributions.Find(tau, count, epsilon, dtype);
        var lambda = Boosts(contributions, tau.Length, count, (float)job.Parameter("r"), (float)job.Parameter("alpha"),
            (float)epsilon);
        for (var e = 0; e < count; e++)
        {
            var merged = 0f;
            for (var i = 0; i < tau.Length; i++)
            {
                merged += contributions.IsUnique(i, e)
                    ? tau[i][e] * lambda[i]
                    : contributions.SharedTerm(tau, i, e, dtype);
            }

            output[e] = baseValues[e] + merged;
        }
    }

    /// <summary>λᵢ in float32: ρ = float(shared) / max(float(unique), float(ε)), clamped to [0, α]; 1 + r·ρ.</summary>
    private static float[] Boosts(RamContributions contributions, int models, int count, float r, float alpha, float epsilon)
    {
        var lambda = new float[models];
        for (var i = 0; i < models; i++)
        {
            long shared = 0, unique = 0;
            for (var e = 0; e < count; e++)
            {
                if (contributions.NonZero[i][e])
                {
                    if (contributions.Counts[e] > 1)
                    {
                        shared++;
                    }
                    else
                    {
                        unique++;
                    }
                }
            }

            var rho = shared == 0 ? 0f : (float)shared / Math.Max((float)unique, epsilon);
            lambda[i] = 1f + r * Math.Clamp(rho, 0f, alpha);
        }

        return lambda;
    }
}
