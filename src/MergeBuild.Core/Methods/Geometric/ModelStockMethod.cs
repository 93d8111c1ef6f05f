using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

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
/// <para>Streaming: one statistics pass sums every vector's N squares and N(N−1)/2 products (<see cref="LaneSum"/>,
/// per row with <c>filter_wise</c>); the output pass is element-wise with the vector's t. State: t per vector.</para>
/// </remarks>
public sealed class ModelStockMethod : IMergeMethod
{
    /// <summary>|1 + (N−1)·cos| below which t is taken as 0 instead of dividing.</summary>
    public const double DenominatorGuard = 1e-6;

    public string Name => "model_stock";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? [.. inputDTypes, b] : inputDTypes);

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    private sealed class State : ITensorMerge
    {
        private readonly TensorJob job;
        private readonly DType dtype;
        private readonly int n;
        private readonly VectorLayout layout;
        private readonly LaneSum[] squares;
        private readonly LaneSum[] products;
        private float[] t = [];
        private float[][] offsets = [];
        private float[] terms = [];

        public State(TensorJob job)
        {
            this.job = job;
            dtype = job.ComputeDType;
            n = job.Inputs.Count;
            layout = job.Parameter("filter_wise") != 0
                ? VectorLayout.LastDim(job.Shape, job.ElementCount)
                : VectorLayout.Flat(job.ElementCount);
            squares = Enumerable.Range(0, n).Select(_ => new LaneSum()).ToArray();
            products = Enumerable.Range(0, n * (n - 1) / 2).Select(_ => new LaneSum()).ToArray();
        }

        public int StatisticsPasses => 1;

        public bool ChunksAreIndependent => true;

        public long StateBytes => layout.Count * 4 + (n + 1) * 4L * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (terms.Length < count)
            {
                offsets = Enumerable.Range(0, n).Select(_ => new float[count]).ToArray();
                terms = new float[count];
            }

            if (t.Length == 0)
            {
                t = new float[layout.Count];
            }

            var differences = new DifferenceKernel(buffers.Inputs, buffers.Base!, offsets);
            Lanes.ForEach(dtype, ref differences, count);
            for (var offset = 0; offset < count;)
            {
                var length = layout.Piece(chunk.Start + offset, count - offset, out var vector, out var k);
                for (int i = 0, pair = 0; i < n; i++)
                {
                    squares[i].AddSquares(offsets[i].AsSpan(offset, length), k);
                    for (var j = i + 1; j < n; j++, pair++)
                    {
                        var kernel = new ProductKernel(offsets[i], offsets[j], terms, offset);
                        Lanes.ForEach(dtype, ref kernel, length);
                        products[pair].Add(terms.AsSpan(0, length), k);
                    }
                }

                if (k + length == layout.Length)
                {
                    t[vector] = Factor();
                }

                offset += length;
            }
        }

        public void EndPass(int pass)
        {
            offsets = [];
            terms = [];
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            for (var offset = 0; offset < chunk.Count;)
            {
                var length = layout.Piece(chunk.Start + offset, chunk.Count - offset, out var vector, out _);
                var factor = t.Length == 0 ? 0f : t[vector];
                var kernel = new OutputKernel(buffers.Inputs, buffers.Base!, buffers.Output, factor,
                    FloatCodec.Round(dtype, 1 - factor), offset);
                Lanes.ForEach(dtype, ref kernel, length);
                offset += length;
            }
        }

        /// <summary>t of the vector just finished, from its sums (which are then cleared for the next vector).</summary>
        private float Factor()
        {
            float Round(float x) => FloatCodec.Round(dtype, x);
            var normFloor = Round(1e-6f);
            var norms = squares.Select(s => TorchMath.Norm(dtype, s.Total)).ToArray();
            var cosSum = 0.0;
            var pairs = 0;
            for (var i = 0; i < n; i++)
            {
                for (var j = i + 1; j < n; j++)
                {
                    var product = Math.Max(Round(norms[i] * norms[j]), normFloor);
                    var dot = TorchMath.Dot(dtype, products[pairs].Total);
                    cosSum += Math.Clamp(Round(dot / product), -1f, 1f);
                    pairs++;
                }
            }

            foreach (var sum in squares.Concat(products))
            {
                sum.Clear();
            }

            var cos = Round((float)(cosSum / pairs));
            var denominator = Round(1 + Round((n - 1) * cos));
            return Math.Abs(denominator) < DenominatorGuard ? 0f : Round(Round(n * cos) / denominator);
        }
    }

    private readonly struct DifferenceKernel(float[][] inputs, float[] b, float[][] offsets) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var bv = TOps.Load(b, i);
            for (var m = 0; m < inputs.Length; m++)
            {
                TOps.Store(offsets[m], i, TOps.Round(TOps.Subtract(TOps.Load(inputs[m], i), bv)));
            }
        }
    }

    /// <summary>D(oᵢ·oⱼ), the terms of one pairwise dot product.</summary>
    private readonly struct ProductKernel(float[] a, float[] b, float[] terms, int offset) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(terms, i, TOps.Round(TOps.Multiply(TOps.Load(a, offset + i), TOps.Load(b, offset + i))));
    }

    /// <summary>D(D(t·mean) + D((1−t)·b)), the mean summed in recipe order with every addition rounded.</summary>
    private readonly struct OutputKernel(float[][] inputs, float[] b, float[] output, float t, float keep, int offset)
        : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var at = offset + i;
            var sum = TOps.Splat(0f);
            foreach (var x in inputs)
            {
                sum = TOps.Round(TOps.Add(sum, TOps.Load(x, at)));
            }

            var average = TOps.Round(TOps.Divide(sum, TOps.Splat(inputs.Length)));
            var value = TOps.Add(TOps.Round(TOps.Multiply(TOps.Splat(t), average)),
                TOps.Round(TOps.Multiply(TOps.Splat(keep), TOps.Load(b, at))));
            TOps.Store(output, at, TOps.Round(value));
        }
    }
}
