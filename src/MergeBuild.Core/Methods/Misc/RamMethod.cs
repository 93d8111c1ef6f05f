using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// <c>ram</c> (Reinforced Agent Merging): an entry changed by one model takes that model's task vector; an entry
/// changed by several takes the mean of their task vectors; entries with |τᵢ| ≤ ε count as unchanged.
/// </summary>
/// <remarks>
/// In the compute dtype D: τᵢ = xᵢ − b; nzᵢ = |τᵢ| &gt; D(ε); c = Σᵢ nzᵢ;
/// out = b + Σᵢ (c = 1 ? τᵢ·nzᵢ : τᵢ·nzᵢ / c), each division and the float32 sum over models rounded to D.
/// Every entry depends only on the models' values at that entry, so the method is element-wise and streams in
/// independent, vectorized chunks.
/// </remarks>
public sealed class RamMethod : IMergeMethod
{
    public string Name => "ram";

    public bool IsElementwise => true;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var dtype = job.ComputeDType;
        var baseValues = buffers.Base ?? throw new InvalidOperationException($"{job.OutputName}: ram needs a base tensor.");
        var kernel = new Kernel(buffers.Inputs, baseValues, buffers.Output,
            FloatCodec.Round(dtype, (float)job.Parameter("epsilon")));
        Lanes.ForEach(dtype, ref kernel, chunk.Count);
    }

    private readonly struct Kernel(float[][] inputs, float[] b, float[] output, float epsilon) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var threshold = TOps.Splat(epsilon);
            var count = RamTerms.Contributors<TOps, T, TWide>(inputs, b, threshold, i);
            var unique = TOps.Equal(count, TOps.Splat(1f));
            var shared = TOps.GreaterThan(count, TOps.Splat(1f));
            var merged = TOps.Splat(0f);
            foreach (var x in inputs)
            {
                var tau = RamTerms.TaskVector<TOps, T, TWide>(x, b, i);
                var contributes = RamTerms.Contributes<TOps, T, TWide>(tau, threshold);
                var term = TOps.Select(TOps.And(contributes, unique), tau,
                    RamTerms.SharedTerm<TOps, T, TWide>(tau, contributes, shared, count));
                merged = TOps.Add(merged, term);
            }

            TOps.Store(output, i, TOps.Round(TOps.Add(TOps.Load(b, i), TOps.Round(merged))));
        }
    }
}
