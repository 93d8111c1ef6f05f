using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// <c>ramplus_tl</c> (RAM+, tensor-local): RAM, with each model's unique entries boosted by
/// λᵢ = 1 + r·clamp(ρᵢ, 0, α), where ρᵢ = (its shared entries) / max(its unique entries, ε) within this tensor.
/// </summary>
/// <remarks>
/// <para>mergekit builds λ as a float32 tensor, so the unique term τᵢ·λᵢ, the sum over models and b + Σ are float32
/// (torch promotes a bf16/f16 tensor times a float32 one): unlike <c>ram</c>, the result is not rounded to the
/// compute dtype; only the shared terms τᵢ / c are. ρᵢ = 0 whenever model i has no shared entry — mergekit gets
/// 0/0 = NaN there when ε = 0 and the model has no unique entry either; with ε &gt; 0 both agree.</para>
/// <para>Streaming: one statistics pass counts every model's shared and unique entries (exact integers), then the
/// output pass is element-wise with the finished λ. State: two counters per model.</para>
/// </remarks>
public sealed class RamPlusTensorLocalMethod : IMergeMethod
{
    public string Name => "ramplus_tl";

    public bool IsElementwise => false;

    /// <summary>mergekit's result is float32 here (see the class remarks), so that is what is written by default.</summary>
    public DType DefaultOutputDType(DType computeDType) => computeDType == DType.F64 ? DType.F64 : DType.F32;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    /// <summary>λᵢ in float32: ρ = float(shared) / max(float(unique), float(ε)), clamped to [0, α]; 1 + r·ρ.</summary>
    private static float Boost(long shared, long unique, float r, float alpha, float epsilon)
    {
        var rho = shared == 0 ? 0f : (float)shared / Math.Max((float)unique, epsilon);
        return 1f + r * Math.Clamp(rho, 0f, alpha);
    }

    private sealed class State(TensorJob job) : ITensorMerge
    {
        // Counting in float is exact while every partial count stays below 2^24.
        private const int CountBlock = 1 << 20;

        private readonly int models = job.Inputs.Count;
        private readonly float epsilon = FloatCodec.Round(job.ComputeDType, (float)job.Parameter("epsilon"));
        private readonly long[] shared = new long[job.Inputs.Count];
        private readonly long[] unique = new long[job.Inputs.Count];
        private float[][] flags = [];
        private float[] lambda = [];

        public int StatisticsPasses => 1;

        public bool ChunksAreIndependent => true;

        public long StateBytes => 2L * models * 4 * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var block = Math.Min(chunk.Count, CountBlock);
            if (flags.Length == 0 || flags[0].Length < block)
            {
                flags = Enumerable.Range(0, 2 * models).Select(_ => new float[block]).ToArray();
            }

            for (var start = 0; start < chunk.Count; start += CountBlock)
            {
                var count = Math.Min(CountBlock, chunk.Count - start);
                var kernel = new CountKernel(buffers.Inputs, buffers.Base!, flags, epsilon, start);
                Lanes.ForEach(job.ComputeDType, ref kernel, count);
                for (var i = 0; i < models; i++)
                {
                    shared[i] += (long)TensorPrimitives.Sum(flags[2 * i].AsSpan(0, count));
                    unique[i] += (long)TensorPrimitives.Sum(flags[2 * i + 1].AsSpan(0, count));
                }
            }
        }

        public void EndPass(int pass)
        {
            var r = (float)job.Parameter("r");
            var alpha = (float)job.Parameter("alpha");
            var eps = (float)job.Parameter("epsilon");
            lambda = Enumerable.Range(0, models).Select(i => Boost(shared[i], unique[i], r, alpha, eps)).ToArray();
            flags = [];
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            var kernel = new OutputKernel(buffers.Inputs, buffers.Base!, buffers.Output, lambda, epsilon);
            Lanes.ForEach(job.ComputeDType, ref kernel, chunk.Count);
        }
    }

    /// <summary>Per model and entry: 1 in flags[2i] where it shares the entry, 1 in flags[2i+1] where it alone changes it.</summary>
    private readonly struct CountKernel(float[][] inputs, float[] b, float[][] flags, float epsilon, int offset) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var at = offset + i;
            var threshold = TOps.Splat(epsilon);
            var one = TOps.Splat(1f);
            var count = RamTerms.Contributors<TOps, T, TWide>(inputs, b, threshold, at);
            var isUnique = TOps.Equal(count, one);
            var isShared = TOps.GreaterThan(count, one);
            for (var m = 0; m < inputs.Length; m++)
            {
                var contributes = RamTerms.Contributes<TOps, T, TWide>(RamTerms.TaskVector<TOps, T, TWide>(inputs[m], b, at), threshold);
                TOps.Store(flags[2 * m], i, TOps.And(TOps.And(contributes, isShared), one));
                TOps.Store(flags[2 * m + 1], i, TOps.And(TOps.And(contributes, isUnique), one));
            }
        }
    }

    private readonly struct OutputKernel(float[][] inputs, float[] b, float[] output, float[] lambda, float epsilon)
        : ILaneKernel
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
            for (var m = 0; m < inputs.Length; m++)
            {
                var tau = RamTerms.TaskVector<TOps, T, TWide>(inputs[m], b, i);
                var contributes = RamTerms.Contributes<TOps, T, TWide>(tau, threshold);
                // The boosted unique term is a float32 product (λ is a float32 tensor in mergekit), not rounded.
                var term = TOps.Select(TOps.And(contributes, unique), TOps.Multiply(tau, TOps.Splat(lambda[m])),
                    RamTerms.SharedTerm<TOps, T, TWide>(tau, contributes, shared, count));
                merged = TOps.Add(merged, term);
            }

            TOps.Store(output, i, TOps.Add(TOps.Load(b, i), merged));
        }
    }
}
