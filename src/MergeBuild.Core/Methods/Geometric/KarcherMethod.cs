using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// <c>karcher</c>: the Riemannian (Karcher) mean of all inputs on the unit hypersphere, each tensor one vector, with
/// equal weights 1/N, rescaled by the mean of the input norms.
/// </summary>
/// <remarks>
/// <para>The method has no base model of its own: a <c>base_model</c> is one more input — at its place in
/// <c>models:</c>, or appended last when it is not listed, as mergekit does. Per-model weights are ignored.</para>
/// <para>As mergekit, in the compute dtype D: norms <c>nᵢ</c> in float32; <c>uᵢ = xᵢ/nᵢ</c> (zero for a zero
/// tensor); inputs with <c>nᵢ ≤ tol</c> take no part in the direction (their weight is shared among the others) but
/// still count in the final scale; start <c>u = normalise(Σ αᵢuᵢ)</c> (the first valid uᵢ when that sum is
/// shorter than tol); then up to <c>max_iter</c> times: <c>θᵢ = acos(clamp(u·uᵢ))</c>, skipping θᵢ &lt; tol,
/// <c>T = Σ αᵢ θᵢ/sin θᵢ · (uᵢ − cos θᵢ · u)</c>, stop when ‖T‖ &lt; tol, else
/// <c>u = cos‖T‖·u + sin‖T‖·T/‖T‖</c>, renormalised. <c>out = (Σ nᵢ/N)·u</c>; zero when no input is valid.
/// Every op is rounded to D as torch does (a float32 0-dim tensor multiplying from the left is rounded to D first,
/// a Python number or a 0-dim tensor on the right multiplies in float32 and rounds once).</para>
/// <para>Streaming: pass 1 the norms, pass 2 the starting mean; then two passes per iteration — the dots u·uᵢ, then T
/// and ‖T‖ (T needs the dots) — and the step to the next u runs over the held vectors when the second ends. The
/// iterate u and the tangent T are the algorithm's own state across passes, so they are held for the whole tensor in
/// D's width (bf16: 4 bytes per element for both; <see cref="CompactTensor"/>); recomputing them from the inputs
/// instead would cost O(max_iter²) work. The inputs themselves are never held. The iteration stops early (fewer
/// passes) when ‖T‖ &lt; tol.</para>
/// </remarks>
public sealed class KarcherMethod : IMergeMethod
{
    public string Name => "karcher";

    public bool IsElementwise => false;

    // mergekit's running mean is a zeros_like of the first input, so the result keeps that input's dtype.
    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) => inputDTypes[0];

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    private sealed class State : ITensorMerge
    {
        private const int SweepBlock = 1 << 14;

        private readonly TensorJob job;
        private readonly DType dtype;
        private readonly int n;
        private readonly double tol;
        private readonly int maxIter;
        private readonly double alpha;
        private readonly float[] norms;
        private readonly LaneSum[] sums;
        private int passes;
        private int[] valid = [];
        private float[] validNorms = [];
        private float share;
        private bool startFromFirstValid;
        private float[] dots = [];
        private float[] factors = [];
        private bool[] skipped = [];
        private CompactTensor? u;
        private CompactTensor? tangent;
        private float[] uChunk = [];
        private long merged;
        private float[][] terms = [];

        public State(TensorJob job)
        {
            this.job = job;
            dtype = job.ComputeDType;
            n = job.Inputs.Count;
            tol = job.Parameter("tol");
            maxIter = (int)job.Parameter("max_iter");
            alpha = 1.0 / n;
            norms = new float[n];
            sums = Enumerable.Range(0, n).Select(_ => new LaneSum()).ToArray();
            passes = n == 1 ? 0 : 2 + 2 * Math.Max(0, maxIter);
        }

        public int StatisticsPasses => passes;

        public bool ChunksAreIndependent => true;

        // Without valid inputs the output is zeros, and after the iterations it is the held u: no input is read.
        public bool OutputPassReadsInputs => n == 1;

        public long StateBytes => n == 1 ? 0
            : 2 * CompactTensor.BytesPerElement(dtype) * job.ElementCount + (n + 2) * 4L * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (terms.Length == 0 || terms[0].Length < count)
            {
                terms = Enumerable.Range(0, n).Select(_ => new float[count]).ToArray();
                uChunk = new float[count];
            }

            if (pass == 0)
            {
                for (var i = 0; i < n; i++)
                {
                    sums[i].AddSquares(buffers.Inputs[i].AsSpan(0, count), chunk.Start);
                }

                return;
            }

            if (pass == 1)
            {
                var start = new StartKernel(buffers.Inputs, valid, validNorms, share, uChunk);
                Lanes.ForEach(dtype, ref start, count);
                u!.Write(chunk.Start, uChunk.AsSpan(0, count));
                sums[0].AddSquares(uChunk.AsSpan(0, count), chunk.Start);
                return;
            }

            if ((pass & 1) == 0)
            {
                // The dots u·uᵢ (the first iteration may start from the first valid unit vector instead).
                if (pass == 2 && startFromFirstValid)
                {
                    var first = new UnitKernel(buffers.Inputs[valid[0]], validNorms[0], uChunk);
                    Lanes.ForEach(dtype, ref first, count);
                    u!.Write(chunk.Start, uChunk.AsSpan(0, count));
                    if (maxIter <= 0)
                    {
                        return;
                    }
                }
                else
                {
                    u!.Read(chunk.Start, uChunk.AsSpan(0, count));
                }

                var kernel = new DotKernel(buffers.Inputs, valid, validNorms, uChunk, terms);
                Lanes.ForEach(dtype, ref kernel, count);
                for (var v = 0; v < valid.Length; v++)
                {
                    sums[v].Add(terms[v].AsSpan(0, count), chunk.Start);
                }

                return;
            }

            u!.Read(chunk.Start, uChunk.AsSpan(0, count));
            var step = new TangentKernel(buffers.Inputs, valid, validNorms, skipped, dots, factors, uChunk, terms[0]);
            Lanes.ForEach(dtype, ref step, count);
            tangent!.Write(chunk.Start, terms[0].AsSpan(0, count));
            sums[0].AddSquares(terms[0].AsSpan(0, count), chunk.Start);
        }

        public void EndPass(int pass)
        {
            if (pass == 0)
            {
                StartIteration();
            }
            else if (pass == 1)
            {
                var uNorm = (float)Math.Sqrt(sums[0].Total);
                // Shorter than tol: the next pass starts from the first valid unit vector (it needs the inputs).
                startFromFirstValid = uNorm < tol;
                if (startFromFirstValid && maxIter <= 0)
                {
                    // No iteration pass would read the inputs: one more pass only to hold the start vector.
                    passes = 3;
                }
                else if (!startFromFirstValid)
                {
                    Sweep(new ScaleKernel(uNorm), withTangent: false, sum: null);
                }
            }
            else if ((pass & 1) == 0 && maxIter > 0)
            {
                for (var v = 0; v < valid.Length; v++)
                {
                    dots[v] = Math.Clamp(TorchMath.Dot(dtype, sums[v].Total), -1f, 1f);
                    var theta = FloatCodec.Round(dtype, MathF.Acos(dots[v]));
                    skipped[v] = theta < tol;
                    factors[v] = FloatCodec.Round(dtype,
                        share * FloatCodec.Round(dtype, theta / FloatCodec.Round(dtype, MathF.Sin(theta))));
                }
            }
            else if (maxIter > 0)
            {
                Step(pass);
            }

            foreach (var sum in sums)
            {
                sum.Clear();
            }

            if (pass + 1 >= passes)
            {
                tangent?.Release();
                tangent = null;
                terms = [];
            }
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (n == 1)
            {
                buffers.Inputs[0].AsSpan(0, count).CopyTo(buffers.Output);
                return;
            }

            if (u is null)
            {
                buffers.Output.AsSpan(0, count).Clear();
                return;
            }

            var scale = 0.0;
            foreach (var norm in norms)
            {
                scale += alpha * norm;
            }

            u.Read(chunk.Start, buffers.Output.AsSpan(0, count));
            var kernel = new ScaleOutputKernel(buffers.Output, (float)scale);
            Lanes.ForEach(dtype, ref kernel, count);
            // Once every element has been read (in whatever order chunks came), u goes back to the pool.
            if (Interlocked.Add(ref merged, count) == job.ElementCount)
            {
                u.Release();
            }
        }

        /// <summary>After the norms: which inputs take part, their shares, and the held vectors.</summary>
        private void StartIteration()
        {
            var validList = new List<int>();
            for (var i = 0; i < n; i++)
            {
                norms[i] = (float)Math.Sqrt(sums[i].Total);
                if (norms[i] > tol)
                {
                    validList.Add(i);
                }
            }

            if (validList.Count == 0)
            {
                passes = 1;
                return;
            }

            valid = [.. validList];
            validNorms = valid.Select(i => norms[i]).ToArray();
            // Equal weights, so each valid input's share is alpha / Σ valid alphas, summed in Python double.
            var alphaSum = 0.0;
            for (var i = 0; i < valid.Length; i++)
            {
                alphaSum += alpha;
            }

            share = (float)(alpha / alphaSum);
            dots = new float[valid.Length];
            factors = new float[valid.Length];
            skipped = new bool[valid.Length];
            u = new CompactTensor(dtype, job.ElementCount);
            tangent = maxIter > 0 ? new CompactTensor(dtype, job.ElementCount) : null;
        }

        /// <summary>End of an iteration's tangent pass: stop when ‖T‖ &lt; tol, else step u along T and renormalise.</summary>
        private void Step(int pass)
        {
            var tangentNorm = (float)Math.Sqrt(sums[0].Total);
            if (tangentNorm < tol)
            {
                passes = pass + 1;
                return;
            }

            var cos = FloatCodec.Round(dtype, MathF.Cos(tangentNorm));
            var sin = FloatCodec.Round(dtype, MathF.Sin(tangentNorm));
            var norm = new LaneSum();
            Sweep(new UpdateKernel(cos, sin, tangentNorm), withTangent: true, norm);
            var length = (float)Math.Sqrt(norm.Total);
            if (length > tol)
            {
                Sweep(new ScaleKernel(length), withTangent: false, sum: null);
            }
        }

        /// <summary>Runs a kernel over the whole held u (and T) in blocks, storing u back and summing its squares.</summary>
        private void Sweep<TKernel>(TKernel kernel, bool withTangent, LaneSum? sum)
            where TKernel : struct, ISweepKernel
        {
            var values = new float[(int)Math.Min(SweepBlock, job.ElementCount)];
            var tangentValues = withTangent ? new float[values.Length] : values;
            for (long start = 0; start < job.ElementCount; start += SweepBlock)
            {
                var count = (int)Math.Min(SweepBlock, job.ElementCount - start);
                u!.Read(start, values.AsSpan(0, count));
                if (withTangent)
                {
                    tangent!.Read(start, tangentValues.AsSpan(0, count));
                }

                var bound = new SweepRunner<TKernel>(kernel, values, tangentValues);
                Lanes.ForEach(dtype, ref bound, count);
                u.Write(start, values.AsSpan(0, count));
                sum?.AddSquares(values.AsSpan(0, count), start);
            }
        }
    }

    /// <summary>An in-place step over the held u (reading T where it needs it).</summary>
    private interface ISweepKernel
    {
        T Apply<TOps, T, TWide>(T u, T tangent)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct;
    }

    private readonly struct SweepRunner<TKernel>(TKernel kernel, float[] u, float[] tangent) : ILaneKernel
        where TKernel : struct, ISweepKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(u, i, kernel.Apply<TOps, T, TWide>(TOps.Load(u, i), TOps.Load(tangent, i)));
    }

    /// <summary><c>(u / norm).to(D)</c> with a float32 norm: one float32 division, rounded once.</summary>
    private readonly struct ScaleKernel(float norm) : ISweepKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<TOps, T, TWide>(T u, T tangent)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Round(TOps.Divide(u, TOps.Splat(norm)));
    }

    /// <summary><c>cos‖T‖·u + sin‖T‖·(T/‖T‖)</c>, every op rounded.</summary>
    private readonly struct UpdateKernel(float cos, float sin, float tangentNorm) : ISweepKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Apply<TOps, T, TWide>(T u, T tangent)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Round(TOps.Add(TOps.Round(TOps.Multiply(TOps.Splat(cos), u)),
                TOps.Round(TOps.Multiply(TOps.Splat(sin), TOps.Round(TOps.Divide(tangent, TOps.Splat(tangentNorm)))))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Unit<TOps, T, TWide>(float[] x, float norm, nint i)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct =>
        TOps.Round(TOps.Divide(TOps.Load(x, i), TOps.Splat(norm)));

    /// <summary>The chordal start Σ share·uᵢ over the valid inputs, each addition rounded, from zero.</summary>
    private readonly struct StartKernel(float[][] inputs, int[] valid, float[] norms, float share, float[] result)
        : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var u = TOps.Splat(0f);
            for (var v = 0; v < valid.Length; v++)
            {
                var unit = Unit<TOps, T, TWide>(inputs[valid[v]], norms[v], i);
                u = TOps.Round(TOps.Add(u, TOps.Round(TOps.Multiply(TOps.Splat(share), unit))));
            }

            TOps.Store(result, i, u);
        }
    }

    private readonly struct UnitKernel(float[] x, float norm, float[] result) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(result, i, Unit<TOps, T, TWide>(x, norm, i));
    }

    /// <summary>D(u·uᵢ), the terms of every valid input's dot product with u.</summary>
    private readonly struct DotKernel(float[][] inputs, int[] valid, float[] norms, float[] u, float[][] terms)
        : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var uv = TOps.Load(u, i);
            for (var v = 0; v < valid.Length; v++)
            {
                TOps.Store(terms[v], i, TOps.Round(TOps.Multiply(uv, Unit<TOps, T, TWide>(inputs[valid[v]], norms[v], i))));
            }
        }
    }

    /// <summary>T = Σ factorᵢ·(uᵢ − cos θᵢ·u) over the valid, unskipped inputs, each op rounded, from zero.</summary>
    private readonly struct TangentKernel(float[][] inputs, int[] valid, float[] norms, bool[] skipped, float[] dots,
        float[] factors, float[] u, float[] result) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var uv = TOps.Load(u, i);
            var t = TOps.Splat(0f);
            for (var v = 0; v < valid.Length; v++)
            {
                if (skipped[v])
                {
                    continue;
                }

                var unit = Unit<TOps, T, TWide>(inputs[valid[v]], norms[v], i);
                var direction = TOps.Round(TOps.Subtract(unit, TOps.Round(TOps.Multiply(TOps.Splat(dots[v]), uv))));
                t = TOps.Round(TOps.Add(t, TOps.Round(TOps.Multiply(TOps.Splat(factors[v]), direction))));
            }

            TOps.Store(result, i, t);
        }
    }

    /// <summary><c>out = D(scale · u)</c>, in place.</summary>
    private readonly struct ScaleOutputKernel(float[] values, float scale) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(values, i, TOps.Round(TOps.Multiply(TOps.Splat(scale), TOps.Load(values, i))));
    }
}
