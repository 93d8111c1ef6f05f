using System.Runtime.CompilerServices;
using MergeBuild.Diagnostics;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// <c>multislerp</c>: a weighted barycentre of any number of models on the unit hypersphere, each tensor one vector,
/// optionally of task vectors against a base.
/// </summary>
/// <remarks>
/// <para>In the compute dtype D, every op rounded to D as torch does: <c>τᵢ = xᵢ − b</c> (or xᵢ);
/// weights rounded to D and, with <c>normalize_weights</c> (default), divided by their sum; <c>nᵢ = ‖τᵢ‖</c>,
/// <c>uᵢ = τᵢ/(nᵢ + ε)</c>; <c>m = Σ wᵢuᵢ</c>, normalised; tangent vectors <c>tᵢ = uᵢ − (uᵢ·m)·m</c>;
/// <c>T = Σ wᵢtᵢ</c>, <c>‖T‖′ = ‖T‖ + ε</c>; <c>r = m·cos‖T‖′ + T·sin‖T‖′/‖T‖′</c>;
/// <c>out = r·Σ wᵢnᵢ (+ b)</c>. Like torch, ε (the <c>eps</c> parameter, 1e-8) is rounded to D before it is added.</para>
/// <para>One model: returned unchanged. ‖m‖ &lt; ε (antipodal inputs whose weights cancel): with two models the
/// weighted sum <c>w₀τ₀ + w₁τ₁ (+ b)</c>, as mergekit; with more, an error, as mergekit.</para>
/// <para>Streaming: four statistics passes, each needing the previous one's result — the norms nᵢ, then ‖m‖, then
/// the dots uᵢ·m, then ‖T‖ — and an element-wise output pass; every pass recomputes its per-element chain from the
/// inputs and the finished scalars, so the state is a few scalars per model (<see cref="LaneSum"/> reductions).</para>
/// </remarks>
public sealed class MultislerpMethod : IMergeMethod
{
    public string Name => "multislerp";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(inputDTypes);

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    /// <summary><c>torch.tensor(weight, dtype=D)</c>, divided by its rounded sum with <c>normalize_weights</c>.</summary>
    private static float[] Weights(TensorJob job, DType dtype)
    {
        var weights = job.Inputs.Select(i => FloatCodec.Round(dtype, (float)i.Parameter("weight"))).ToArray();
        if (job.Parameter("normalize_weights") == 0)
        {
            return weights;
        }

        var sum = 0.0;
        foreach (var w in weights)
        {
            sum += w;
        }

        var total = FloatCodec.Round(dtype, (float)sum);
        return weights.Select(w => FloatCodec.Round(dtype, w / total)).ToArray();
    }

    /// <summary>What a pass of the chain computes per element.</summary>
    private enum Stage
    {
        TaskVectors,
        Mean,
        Dots,
        Tangent,
        Output,
        Cancelled,
    }

    private sealed class State : ITensorMerge
    {
        private readonly TensorJob job;
        private readonly DType dtype;
        private readonly int n;
        private readonly float epsD;
        private readonly float[] weights;
        private readonly float[] norms;
        private readonly float[] divisors;
        private readonly float[] dots;
        private readonly LaneSum[] sums;
        private int passes = 4;
        private float meanNorm;
        private float cos;
        private float sinRatio;
        private float scale;
        private float[][] terms = [];

        public State(TensorJob job)
        {
            this.job = job;
            dtype = job.ComputeDType;
            n = job.Inputs.Count;
            // torch rounds a Python number added to (or compared with) a tensor to the tensor's dtype.
            epsD = FloatCodec.Round(dtype, (float)job.Parameter("eps"));
            weights = n == 1 ? [] : Weights(job, dtype);
            norms = new float[n];
            divisors = new float[n];
            dots = new float[n];
            sums = Enumerable.Range(0, n).Select(_ => new LaneSum()).ToArray();
            if (n == 1)
            {
                passes = 0;
            }
        }

        public int StatisticsPasses => passes;

        public bool ChunksAreIndependent => true;

        public long StateBytes => n * 4L * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (terms.Length == 0 || terms[0].Length < count)
            {
                terms = Enumerable.Range(0, n).Select(_ => new float[count]).ToArray();
            }

            var stage = (Stage)pass;
            Run(stage, buffers, terms, count);
            switch (stage)
            {
                case Stage.TaskVectors:
                    for (var i = 0; i < n; i++)
                    {
                        sums[i].AddSquares(terms[i].AsSpan(0, count), chunk.Start);
                    }

                    break;
                case Stage.Dots:
                    for (var i = 0; i < n; i++)
                    {
                        sums[i].Add(terms[i].AsSpan(0, count), chunk.Start);
                    }

                    break;
                default:
                    sums[0].AddSquares(terms[0].AsSpan(0, count), chunk.Start);
                    break;
            }
        }

        public void EndPass(int pass)
        {
            float Round(float x) => FloatCodec.Round(dtype, x);
            switch ((Stage)pass)
            {
                case Stage.TaskVectors:
                    for (var i = 0; i < n; i++)
                    {
                        norms[i] = TorchMath.Norm(dtype, sums[i].Total);
                        divisors[i] = Round(norms[i] + epsD);
                    }

                    break;
                case Stage.Mean:
                    meanNorm = TorchMath.Norm(dtype, sums[0].Total);
                    if (meanNorm < epsD)
                    {
                        Cancelled();
                    }

                    break;
                case Stage.Dots:
                    for (var i = 0; i < n; i++)
                    {
                        dots[i] = TorchMath.Dot(dtype, sums[i].Total);
                    }

                    break;
                case Stage.Tangent:
                    var tangentNorm = Round(TorchMath.Norm(dtype, sums[0].Total) + epsD);
                    cos = Round(MathF.Cos(tangentNorm));
                    sinRatio = Round(Round(MathF.Sin(tangentNorm)) / tangentNorm);
                    var scaleSum = 0.0;
                    for (var i = 0; i < n; i++)
                    {
                        scaleSum += Round(norms[i] * weights[i]);
                    }

                    scale = Round((float)scaleSum);
                    terms = [];
                    break;
            }

            foreach (var sum in sums)
            {
                sum.Clear();
            }
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            if (n == 1)
            {
                buffers.Inputs[0].AsSpan(0, chunk.Count).CopyTo(buffers.Output);
                return;
            }

            Run(passes == 4 ? Stage.Output : Stage.Cancelled, buffers, [buffers.Output], chunk.Count);
        }

        /// <summary>The weighted unit vectors cancel: mergekit lerps two models and gives up on more.</summary>
        private void Cancelled()
        {
            if (n != 2)
            {
                throw new MergeBuildException(ErrorCodes.ParameterOutOfRange,
                    $"multislerp: the weighted unit vectors of {job.OutputName} sum to zero (antipodal models whose " +
                    "weights cancel), so the spherical mean has no direction.", job.Inputs[0].Location,
                    "Use different weights for the models whose tensors point in opposite directions.");
            }

            passes = 2;
        }

        private void Run(Stage stage, MergeBuffers buffers, float[][] results, int count)
        {
            var chain = new Chain(buffers.Inputs, buffers.Base, weights, divisors, dots, meanNorm);
            switch (stage)
            {
                case Stage.TaskVectors:
                    var tau = new TaskVectorKernel(chain, results);
                    Lanes.ForEach(dtype, ref tau, count);
                    break;
                case Stage.Mean:
                    var mean = new MeanKernel(chain, results[0]);
                    Lanes.ForEach(dtype, ref mean, count);
                    break;
                case Stage.Dots:
                    var dot = new DotKernel(chain, results);
                    Lanes.ForEach(dtype, ref dot, count);
                    break;
                case Stage.Tangent:
                    var tangent = new TangentKernel(chain, results[0]);
                    Lanes.ForEach(dtype, ref tangent, count);
                    break;
                case Stage.Output:
                    var output = new OutputKernel(chain, results[0], cos, sinRatio, scale);
                    Lanes.ForEach(dtype, ref output, count);
                    break;
                default:
                    var cancelled = new CancelledKernel(chain, results[0], weights[0], weights[1]);
                    Lanes.ForEach(dtype, ref cancelled, count);
                    break;
            }
        }
    }

    /// <summary>
    /// The per-element chain, one kernel per stage so each stays small enough to be compiled with every step inlined:
    /// τᵢ, uᵢ, m (with ‖m‖ known), tᵢ and T (with the dots known), the result. Each stage writes what its reduction
    /// needs into <c>results</c>.
    /// </summary>
    private readonly struct Chain(float[][] inputs, float[]? b, float[] weights, float[] divisors, float[] dots,
        float meanNorm)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Tau<TOps, T, TWide>(int m, nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            b is null ? TOps.Load(inputs[m], i) : TOps.Round(TOps.Subtract(TOps.Load(inputs[m], i), TOps.Load(b, i)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Unit<TOps, T, TWide>(int m, nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Round(TOps.Divide(Tau<TOps, T, TWide>(m, i), TOps.Splat(divisors[m])));

        /// <summary>m = Σ wᵢuᵢ: products rounded to D, summed over models in double, rounded once.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Mean<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var sum = TOps.WideSplat(0);
            for (var m = 0; m < inputs.Length; m++)
            {
                sum = TOps.WideAdd(sum, TOps.Widen(TOps.Round(TOps.Multiply(Unit<TOps, T, TWide>(m, i), TOps.Splat(weights[m])))));
            }

            return TOps.Round(TOps.Narrow(sum));
        }

        /// <summary>m / ‖m‖.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Direction<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Round(TOps.Divide(Mean<TOps, T, TWide>(i), TOps.Splat(meanNorm)));

        /// <summary>T = Σ wᵢ(uᵢ − (uᵢ·m)·m), summed like the mean.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Tangent<TOps, T, TWide>(T direction, nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var sum = TOps.WideSplat(0);
            for (var m = 0; m < inputs.Length; m++)
            {
                var projected = TOps.Round(TOps.Subtract(Unit<TOps, T, TWide>(m, i),
                    TOps.Round(TOps.Multiply(TOps.Splat(dots[m]), direction))));
                sum = TOps.WideAdd(sum, TOps.Widen(TOps.Round(TOps.Multiply(projected, TOps.Splat(weights[m])))));
            }

            return TOps.Round(TOps.Narrow(sum));
        }

        /// <summary>With a base, D(value + b).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T AddBase<TOps, T, TWide>(T value, nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            b is null ? value : TOps.Round(TOps.Add(value, TOps.Load(b, i)));
    }

    private readonly struct TaskVectorKernel(Chain chain, float[][] results) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            for (var m = 0; m < results.Length; m++)
            {
                TOps.Store(results[m], i, chain.Tau<TOps, T, TWide>(m, i));
            }
        }
    }

    private readonly struct MeanKernel(Chain chain, float[] result) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(result, i, chain.Mean<TOps, T, TWide>(i));
    }

    /// <summary>D(uᵢ·m), the terms of the dots.</summary>
    private readonly struct DotKernel(Chain chain, float[][] results) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var direction = chain.Direction<TOps, T, TWide>(i);
            for (var m = 0; m < results.Length; m++)
            {
                TOps.Store(results[m], i, TOps.Round(TOps.Multiply(chain.Unit<TOps, T, TWide>(m, i), direction)));
            }
        }
    }

    private readonly struct TangentKernel(Chain chain, float[] result) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(result, i, chain.Tangent<TOps, T, TWide>(chain.Direction<TOps, T, TWide>(i), i));
    }

    /// <summary><c>(m·cos + T·sinRatio)·scale (+ b)</c>.</summary>
    private readonly struct OutputKernel(Chain chain, float[] output, float cos, float sinRatio, float scale) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var direction = chain.Direction<TOps, T, TWide>(i);
            var tangent = chain.Tangent<TOps, T, TWide>(direction, i);
            var r = TOps.Round(TOps.Add(TOps.Round(TOps.Multiply(direction, TOps.Splat(cos))),
                TOps.Round(TOps.Multiply(tangent, TOps.Splat(sinRatio)))));
            TOps.Store(output, i, chain.AddBase<TOps, T, TWide>(TOps.Round(TOps.Multiply(r, TOps.Splat(scale))), i));
        }
    }

    /// <summary>The weighted sum <c>w₀τ₀ + w₁τ₁ (+ b)</c> of two cancelling models.</summary>
    private readonly struct CancelledKernel(Chain chain, float[] output, float w0, float w1) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var sum = TOps.Add(TOps.Round(TOps.Multiply(chain.Tau<TOps, T, TWide>(0, i), TOps.Splat(w0))),
                TOps.Round(TOps.Multiply(chain.Tau<TOps, T, TWide>(1, i), TOps.Splat(w1))));
            TOps.Store(output, i, chain.AddBase<TOps, T, TWide>(TOps.Round(sum), i));
        }
    }
}
