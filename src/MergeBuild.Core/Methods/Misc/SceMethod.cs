using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// <c>sce</c> (select, calculate, erase): keeps the entries whose task vectors vary most across models, weights
/// each model by its mean squared task vector, and averages the task vectors that agree with the elected sign.
/// </summary>
/// <remarks>
/// <para>In the compute dtype D, per tensor: τᵢ = xᵢ − b; when <c>select_topk</c> &lt; 1, every τᵢ is zeroed outside
/// the k entries of largest population variance across models, k = int(float32(count_nonzero(var)) ·
/// float32(select_topk)) (ties by lower flat index); mᵢ = [sign(τᵢ) = (Στⱼ ≥ 0 ? +1 : −1)] on the unweighted τ;
/// ωᵢ = mean(τᵢ²) / Σⱼ mean(τⱼ²), or 1/n when that sum is under 1e-6; out = b + Σ ωᵢmᵢτᵢ / max(Σ ωᵢmᵢ, 1e-6).
/// mergekit emits a wrongly shaped tensor when k = 0 (all variances zero); MergeBuild returns b there.</para>
/// <para>Streaming, with the variance recomputed from the inputs in every pass instead of stored: with
/// <c>select_topk</c> &lt; 1, pass 1 counts the |variance| sort keys (<see cref="VarianceSelection"/>); for float32
/// and f16 variances a second pass refines the threshold's bucket when it is only partly kept; the weights pass then
/// masks τ and sums the squares per model (<see cref="LaneSum"/>, assigning ties in flat order); the output pass is
/// element-wise. Without selection only the weights pass runs. State: the radix tables (0.5 MB, 1 MB when refined).</para>
/// </remarks>
public sealed class SceMethod : IMergeMethod
{
    public string Name => "sce";

    public bool IsElementwise => false;

    // τ = x − b follows torch promotion between each model and the base (no cast to the base dtype).
    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    private enum Stage
    {
        Count,
        Refine,
        Weights,
    }

    private sealed class State : ITensorMerge
    {
        private readonly TensorJob job;
        private readonly DType dtype;
        private readonly int models;
        private readonly double selectTopK;
        private readonly List<Stage> stages;
        private readonly VarianceSelection? selection;
        private readonly LaneSum[] squares;
        private float[] weights = [];
        private bool baseOnly;
        private float[] variance = [];
        private float[] keep = [];
        private float[][] terms = [];

        public State(TensorJob job)
        {
            this.job = job;
            dtype = job.ComputeDType;
            models = job.Inputs.Count;
            selectTopK = job.Parameter("select_topk");
            squares = Enumerable.Range(0, models).Select(_ => new LaneSum()).ToArray();
            if (models == 0)
            {
                stages = [];
                baseOnly = true;
            }
            else if (selectTopK < 1)
            {
                selection = new VarianceSelection();
                stages = [Stage.Count, Stage.Refine, Stage.Weights];
            }
            else
            {
                stages = [Stage.Weights];
            }
        }

        public int StatisticsPasses => stages.Count;

        public bool ChunksAreIndependent => true;

        public long StateBytes => (selection is null ? 0 : VarianceSelection.StateBytes) + 2L * (models + 2) * 4 * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            Scratch(count);
            switch (stages[pass])
            {
                case Stage.Count:
                    Variance(buffers, count, variance);
                    selection!.Count(variance.AsSpan(0, count));

                    break;
                case Stage.Refine:
                    Variance(buffers, count, variance);
                    selection!.Refine(variance.AsSpan(0, count));

                    break;
                case Stage.Weights:
                    Keep(buffers, chunk, countTies: true, variance, keep);
                    var kernel = new SquaresKernel(buffers.Inputs, buffers.Base!, keep, terms);
                    Lanes.ForEach(dtype, ref kernel, count);
                    for (var i = 0; i < models; i++)
                    {
                        squares[i].Add(terms[i].AsSpan(0, count), chunk.Start);
                    }

                    break;
            }
        }

        public void EndPass(int pass)
        {
            switch (stages[pass])
            {
                case Stage.Count:
                    var outcome = selection!.Locate(selectTopK);
                    if (outcome == VarianceSelection.Outcome.Nothing)
                    {
                        baseOnly = true;
                        stages.RemoveRange(pass + 1, stages.Count - pass - 1);
                    }
                    else if (outcome != VarianceSelection.Outcome.NeedsRefinement)
                    {
                        stages.Remove(Stage.Refine);
                    }

                    break;
                case Stage.Refine:
                    selection!.FinishRefinement();
                    break;
                case Stage.Weights:
                    weights = Weights();
                    variance = keep = [];
                    terms = [];
                    break;
            }
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (baseOnly)
            {
                buffers.Base.AsSpan(0, count).CopyTo(buffers.Output);
                return;
            }

            // Output as the variance's scratch, Scratch as the mask: nothing shared, so chunks may run in parallel.
            Keep(buffers, chunk, countTies: false, buffers.Output, buffers.Scratch);
            var kernel = new OutputKernel(buffers.Inputs, buffers.Base!, buffers.Scratch, weights, buffers.Output,
                FloatCodec.Round(dtype, 1e-6f));
            Lanes.ForEach(dtype, ref kernel, count);
        }

        /// <summary>The selection mask of one chunk (all set without selection).</summary>
        private void Keep(MergeBuffers buffers, MergeChunk chunk, bool countTies, float[] varianceScratch, float[] mask)
        {
            if (selection is null)
            {
                mask.AsSpan(0, chunk.Count).Fill(BitConverter.UInt32BitsToSingle(uint.MaxValue));
                return;
            }

            Variance(buffers, chunk.Count, varianceScratch);
            selection.Mask(varianceScratch.AsSpan(0, chunk.Count), chunk.Start, countTies, mask.AsSpan(0, chunk.Count));
        }

        private void Variance(MergeBuffers buffers, int count, float[] result)
        {
            var kernel = new VarianceKernel(buffers.Inputs, buffers.Base!, result);
            Lanes.ForEach(dtype, ref kernel, count);
        }

        /// <summary>
        /// ωᵢ = mean(τᵢ²)/Σⱼ mean(τⱼ²) in D: squares rounded to D, the whole-tensor sum accumulated in double (torch's
        /// cascade sum is far closer to that than to a running float32 sum), divided by numel in float32 and rounded.
        /// </summary>
        private float[] Weights()
        {
            var result = new float[models];
            var total = 0f;
            for (var i = 0; i < models; i++)
            {
                result[i] = FloatCodec.Round(dtype, (float)squares[i].Total / job.ElementCount);
                total += result[i];
            }

            total = FloatCodec.Round(dtype, total);
            for (var i = 0; i < models; i++)
            {
                result[i] = Math.Abs(total) < 1e-6
                    ? FloatCodec.Round(dtype, 1f / models)
                    : FloatCodec.Round(dtype, result[i] / total);
            }

            return result;
        }

        private void Scratch(int count)
        {
            if (variance.Length < count)
            {
                variance = new float[count];
                keep = new float[count];
                terms = Enumerable.Range(0, models).Select(_ => new float[count]).ToArray();
            }
        }
    }

    /// <summary>τ = D(x − b), zeroed (τ·0, keeping torch's signed zero) where the mask is clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Erased<TOps, T, TWide>(float[] x, float[] b, float[] keep, nint i)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct
    {
        var tau = TOps.Round(TOps.Subtract(TOps.Load(x, i), TOps.Load(b, i)));
        return TOps.Select(TOps.Load(keep, i), tau, TOps.Multiply(tau, TOps.Splat(0f)));
    }

    /// <summary>
    /// |variance| over models of every entry, as <c>torch.var(dim=0, unbiased=False)</c> computes it: Welford's update
    /// in double precision in model order, divided by n, cast to float32 and then to the compute dtype.
    /// </summary>
    private readonly struct VarianceKernel(float[][] inputs, float[] b, float[] result) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var mean = TOps.WideSplat(0);
            var m2 = TOps.WideSplat(0);
            var bv = TOps.Load(b, i);
            for (var m = 0; m < inputs.Length; m++)
            {
                var x = TOps.Widen(TOps.Round(TOps.Subtract(TOps.Load(inputs[m], i), bv)));
                var delta = TOps.WideSubtract(x, mean);
                mean = TOps.WideAdd(mean, DivideBy<TOps, T, TWide>(delta, m + 1));
                m2 = TOps.WideAdd(m2, TOps.WideMultiply(delta, TOps.WideSubtract(x, mean)));
            }

            var variance = TOps.Round(TOps.Narrow(DivideBy<TOps, T, TWide>(m2, inputs.Length)));
            TOps.Store(result, i, TOps.Abs(variance));
        }

        /// <summary>
        /// x / k. Dividing by a power of two is exactly multiplying by its reciprocal (the same real number, rounded
        /// once), which spares the slow division for the first, second and fourth model.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TWide DivideBy<TOps, T, TWide>(TWide x, int k)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            (k & (k - 1)) == 0 ? TOps.WideMultiply(x, TOps.WideSplat(1.0 / k)) : TOps.WideDivide(x, TOps.WideSplat(k));
    }

    /// <summary>D(τᵢ²) of the masked task vectors, per model.</summary>
    private readonly struct SquaresKernel(float[][] inputs, float[] b, float[] keep, float[][] terms) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            for (var m = 0; m < inputs.Length; m++)
            {
                var tau = Erased<TOps, T, TWide>(inputs[m], b, keep, i);
                TOps.Store(terms[m], i, TOps.Round(TOps.Multiply(tau, tau)));
            }
        }
    }

    /// <summary>Sign election, weighted agreeing mean and the base added back, per entry.</summary>
    private readonly struct OutputKernel(float[][] inputs, float[] b, float[] keep, float[] weights, float[] output,
        float minDivisor) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var zero = TOps.Splat(0f);
            var signSum = zero;
            for (var m = 0; m < inputs.Length; m++)
            {
                var tau = Erased<TOps, T, TWide>(inputs[m], b, keep, i);
                if (TOps.Any(TOps.Not(TOps.Equal(tau, tau))))
                {
                    ThrowNaN();
                }

                signSum = TOps.Add(signSum, tau);
            }

            // elected = +1 where D(Σ τ) ≥ 0, else −1 (NaN too); exact zeros have sign 0 and never agree.
            var elected = TOps.Round(signSum);
            var positive = TOps.Or(TOps.GreaterThan(elected, zero), TOps.Equal(elected, zero));
            var mixed = zero;
            var divisor = zero;
            for (var m = 0; m < inputs.Length; m++)
            {
                var tau = Erased<TOps, T, TWide>(inputs[m], b, keep, i);
                var agree = TOps.Select(positive, TOps.GreaterThan(tau, zero), TOps.LessThan(tau, zero));
                var erased = TOps.Select(agree, TOps.Splat(weights[m]), zero);
                mixed = TOps.Add(mixed, TOps.Round(TOps.Multiply(tau, erased)));
                divisor = TOps.Add(divisor, erased);
            }

            mixed = TOps.Round(mixed);
            divisor = TOps.Round(divisor);
            // Math.Max(divisor, floor): a NaN divisor stays NaN.
            var floor = TOps.Splat(minDivisor);
            divisor = TOps.Select(TOps.GreaterThan(floor, divisor), floor, divisor);
            var value = TOps.Round(TOps.Add(TOps.Load(b, i), TOps.Round(TOps.Divide(mixed, divisor))));
            TOps.Store(output, i, value);
        }

        /// <summary>The whole-tensor code took Math.Sign of every τ, which throws for NaN; so does this.</summary>
        private static void ThrowNaN() => _ = Math.Sign(float.NaN);
    }
}
