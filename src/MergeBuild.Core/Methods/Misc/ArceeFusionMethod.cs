using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Misc;

/// <summary>
/// <c>arcee_fusion</c>: takes the other model's value only where its change from the base is important — where
/// |x − b| times the row's softmax KL divergence is an outlier (at least median + 1.5·IQR of the tensor's scores).
/// </summary>
/// <remarks>
/// <para>In the compute dtype D, rows along the last dimension (a 1-D tensor is one row): p = softmax(x) + 1e-8,
/// q = softmax(b) + 1e-8, KL = Σ p·log(p/q) per row, I = |x − b|·KL, thr from <see cref="FusionThreshold"/>,
/// out = b + (x − b)·[I ≥ thr]. mergekit's mask is a float32 tensor, so the last product and sum are float32 and the
/// result is not rounded to D. Softmax and the row sums use float32 exp/log with double accumulation; torch's
/// vectorised kernels may differ in the last bit of an intermediate, which can only move an element that sits exactly
/// on the threshold.</para>
/// <para>Streaming: pass 1 computes every row's KL (a row that spans chunks is gathered into a row buffer, since the
/// softmax needs the whole row twice) and counts the scores' sort keys; for scores that are not bf16 values a second
/// pass refines the three quantiles' buckets; the output pass recomputes each score from the row's KL. State: the KL
/// per row, one row of each input, the radix tables — never the tensor.</para>
/// </remarks>
public sealed class ArceeFusionMethod : IMergeMethod
{
    public string Name => "arcee_fusion";

    public bool IsElementwise => false;

    /// <summary>mergekit's result is float32 here (see the class remarks), so that is what is written by default.</summary>
    public DType DefaultOutputDType(DType computeDType) => computeDType == DType.F64 ? DType.F64 : DType.F32;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? inputDTypes.Append(b) : inputDTypes);

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    private sealed class State : ITensorMerge
    {
        private readonly TensorJob job;
        private readonly DType dtype;
        private readonly int row;
        private readonly long rows;
        private readonly FusionThreshold threshold = new();
        private int passes;
        private float[] kl = [];
        private float[] rowModel = [];
        private float[] rowBase = [];
        private float[] p = [];
        private float[] q = [];
        private float[] work = [];
        private float[] scores = [];
        private float cut;

        public State(TensorJob job)
        {
            this.job = job;
            dtype = job.ComputeDType;
            // Rows along the last dimension; a 0-d tensor is one row of one element.
            row = job.Shape.Length == 0 ? 1 : checked((int)job.Shape[^1]);
            rows = row == 0 ? 0 : job.ElementCount / row;
            passes = job.Inputs.Count == 0 || job.ElementCount == 0 ? 0 : 2;
        }

        public int StatisticsPasses => passes;

        public bool ChunksAreIndependent => true;

        public long StateBytes => FusionThreshold.StateBytes + rows * 4 + 4L * 4 * row + 4L * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (scores.Length < Math.Max(count, row))
            {
                scores = new float[Math.Max(count, row)];
            }

            if (pass == 1)
            {
                Scores(buffers.Inputs[0], buffers.Base!, chunk, scores);
                threshold.Refine(scores.AsSpan(0, count));

                return;
            }

            if (kl.Length == 0)
            {
                kl = new float[rows];
                p = new float[row];
                q = new float[row];
                work = new float[row];
                rowModel = new float[row];
                rowBase = new float[row];
            }

            var model = buffers.Inputs[0];
            var baseValues = buffers.Base!;
            for (var offset = 0; offset < count;)
            {
                var position = chunk.Start + offset;
                var r = position / row;
                var k = (int)(position - r * row);
                var length = Math.Min(count - offset, row - k);
                if (k == 0 && length == row)
                {
                    FinishRow(r, model, baseValues, offset);
                }
                else
                {
                    model.AsSpan(offset, length).CopyTo(rowModel.AsSpan(k));
                    baseValues.AsSpan(offset, length).CopyTo(rowBase.AsSpan(k));
                    if (k + length == row)
                    {
                        FinishRow(r, rowModel, rowBase, 0);
                    }
                }

                offset += length;
            }
        }

        public void EndPass(int pass)
        {
            if (pass == 0)
            {
                rowModel = rowBase = p = q = work = [];
                if (!threshold.Locate())
                {
                    passes = 1;
                }
            }

            if (pass + 1 >= passes)
            {
                cut = threshold.Threshold(dtype);
                scores = [];
            }
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (passes == 0)
            {
                // No model besides the base (or nothing to merge): the base.
                buffers.Base.AsSpan(0, count).CopyTo(buffers.Output);
                return;
            }

            ForEachRowPiece(chunk, (offset, length, klValue) =>
            {
                var kernel = new OutputKernel(buffers.Inputs[0], buffers.Base!, buffers.Output, klValue, cut, offset);
                Lanes.ForEach(dtype, ref kernel, length);
            });
        }

        /// <summary>A whole row is in (<paramref name="model"/>, <paramref name="b"/>) at <paramref name="offset"/>: its KL and scores.</summary>
        private void FinishRow(long r, float[] model, float[] b, int offset)
        {
            var epsilon = FloatCodec.Round(dtype, 1e-8f);
            Softmax(model.AsSpan(offset, row), p, epsilon);
            Softmax(b.AsSpan(offset, row), q, epsilon);
            // KL = Σ D(p · D(log D(p / q))): the logs one by one (MathF, as before), the rest vectorized, the sum in
            // double in row order.
            var ratios = new RatioKernel(p, q, work);
            Lanes.ForEach(dtype, ref ratios, row);
            for (var j = 0; j < row; j++)
            {
                work[j] = MathF.Log(work[j]);
            }

            var terms = new KlTermKernel(p, work);
            Lanes.ForEach(dtype, ref terms, row);
            double sum = 0;
            foreach (var term in work.AsSpan(0, row))
            {
                sum += term;
            }

            kl[r] = FloatCodec.Round(dtype, (float)sum);
            var kernel = new ScoreKernel(model, b, scores, kl[r], offset);
            Lanes.ForEach(dtype, ref kernel, row);
            threshold.Count(scores.AsSpan(0, row));
        }

        /// <summary>D(D(softmax(x)) + ε): exp(x − max) scaled by 1/Σ, as torch's last-dim softmax kernel does.</summary>
        private void Softmax(ReadOnlySpan<float> x, float[] result, float epsilon)
        {
            // IEEE maximum, like a running Math.Max: +0 above −0, and any NaN makes the row NaN throughout.
            var max = x.IsEmpty ? float.NegativeInfinity : TensorPrimitives.Max(x);
            double sum = 0;
            for (var j = 0; j < x.Length; j++)
            {
                result[j] = MathF.Exp(x[j] - max);
                sum += result[j];
            }

            var kernel = new SoftmaxScaleKernel(result, 1f / (float)sum, epsilon);
            Lanes.ForEach(dtype, ref kernel, x.Length);
        }

        /// <summary>Every score of a chunk, from the rows' KL.</summary>
        private void Scores(float[] model, float[] b, MergeChunk chunk, float[] result) =>
            ForEachRowPiece(chunk, (offset, length, klValue) =>
            {
                var kernel = new ScoreKernel(model, b, result, klValue, offset, offset);
                Lanes.ForEach(dtype, ref kernel, length);
            });

        /// <summary>Calls <paramref name="body"/> for each piece of the chunk inside one whole row, with the row's KL.</summary>
        private void ForEachRowPiece(MergeChunk chunk, Action<int, int, float> body)
        {
            for (var offset = 0; offset < chunk.Count;)
            {
                var position = chunk.Start + offset;
                var r = position / row;
                var length = (int)Math.Min(chunk.Count - offset, row - (position - r * row));
                body(offset, length, kl[r]);
                offset += length;
            }
        }

    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Score<TOps, T, TWide>(T delta, float kl)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct =>
        TOps.Round(TOps.Multiply(TOps.Abs(delta), TOps.Splat(kl)));

    /// <summary>I = D(|D(x − b)| · KL) for a piece of one row, read at <c>offset</c> and written at <c>target</c>.</summary>
    private readonly struct ScoreKernel(float[] x, float[] b, float[] result, float kl, int offset, int target = 0)
        : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var delta = TOps.Round(TOps.Subtract(TOps.Load(x, offset + i), TOps.Load(b, offset + i)));
            TOps.Store(result, target + i, Score<TOps, T, TWide>(delta, kl));
        }
    }

    /// <summary>D(D(e·(1/Σ)) + ε), in place.</summary>
    private readonly struct SoftmaxScaleKernel(float[] values, float scale, float epsilon) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(values, i, TOps.Round(TOps.Add(TOps.Round(TOps.Multiply(TOps.Load(values, i), TOps.Splat(scale))),
                TOps.Splat(epsilon))));
    }

    private readonly struct RatioKernel(float[] p, float[] q, float[] result) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(result, i, TOps.Round(TOps.Divide(TOps.Load(p, i), TOps.Load(q, i))));
    }

    /// <summary>D(p · D(log)), in place over the logs.</summary>
    private readonly struct KlTermKernel(float[] p, float[] logs) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(logs, i, TOps.Round(TOps.Multiply(TOps.Load(p, i), TOps.Round(TOps.Load(logs, i)))));
    }

    /// <summary>out = b + δ·[I ≥ thr] in float32 (mergekit's mask is a float32 tensor).</summary>
    private readonly struct OutputKernel(float[] x, float[] b, float[] output, float kl, float threshold, int offset)
        : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var at = offset + i;
            var bv = TOps.Load(b, at);
            var delta = TOps.Round(TOps.Subtract(TOps.Load(x, at), bv));
            var score = Score<TOps, T, TWide>(delta, kl);
            var cutoff = TOps.Splat(threshold);
            var kept = TOps.Or(TOps.GreaterThan(score, cutoff), TOps.Equal(score, cutoff));
            var keep = TOps.Select(kept, TOps.Splat(1f), TOps.Splat(0f));
            TOps.Store(output, at, TOps.Add(bv, TOps.Multiply(delta, keep)));
        }
    }
}
