using System.Runtime.CompilerServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// <c>nuslerp</c>: slerp between two models with <c>t = w₂/(w₁+w₂)</c> from their weights (recipe order; 0.5 when
/// |w₁+w₂| &lt; 1e-6), optionally on task vectors against a base: <c>out = b + nuslerp(t, x₁−b, x₂−b)</c>.
/// </summary>
/// <remarks>
/// <para>Vectors: the whole tensor with <c>nuslerp_flatten</c> (default); otherwise one vector per slice along the last
/// dim (<c>x[i, :]</c>), or along dim 0 (<c>x[:, j]</c>) with <c>nuslerp_row_wise: true</c> — mergekit's naming.</para>
/// <para>Per vector, in torch arithmetic in the compute dtype D: <c>u = v/max(‖v‖, 1e-7)</c>,
/// <c>θ = acos(clamp(Σu₀u₁, −1, 1))</c>, <c>out = (sin((1−t)θ)·v₀ + sin(tθ)·v₁)/sin θ</c>, and the lerp
/// <c>(1−t)·v₀ + t·v₁</c> where |sin θ| &lt; 1e-8. Unlike <see cref="SlerpMethod"/> there is no 0.9995 threshold.
/// Every tensor op is rounded to D; the Python number t multiplies in float32 and rounds once.</para>
/// <para>Streaming: pass 1 sums each vector's squares, pass 2 the products of its unit vectors (which need the norms);
/// the output pass is element-wise with each vector's coefficients. Whole-tensor and row vectors are summed with
/// <see cref="LaneSum"/>; dim-0 vectors per column (<see cref="ColumnSums"/>). State: a few floats per vector.</para>
/// </remarks>
public sealed class NuslerpMethod : IMergeMethod
{
    private const float NormFloor = 1e-7f;
    private const double ColinearEpsilon = 1e-8;

    public string Name => "nuslerp";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? [.. inputDTypes, b] : inputDTypes);

    /// <summary>mergekit's interpolation factor from the two models' weights (Python double arithmetic).</summary>
    public static double Factor(double w1, double w2) => Math.Abs(w1 + w2) < 1e-6 ? 0.5 : w2 / (w1 + w2);

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    /// <summary>Where a chunk's pass-0 and pass-1 sums come from, one piece of one vector at a time.</summary>
    private interface IVectorPieces
    {
        /// <summary>Adds the piece's squares of v₀ and v₁; <paramref name="k"/> is its position in its vector.</summary>
        void AddSquares(int offset, int length, long k);

        /// <summary>Adds the piece's cosine terms with its vector's norms.</summary>
        void AddCosines(int offset, int length, long k, float norm0, float norm1);
    }

    /// <summary>One vector's factors: the lerp's (1−t, t, divisor 1) or the slerp's (sin((1−t)θ), sin(tθ), sin θ).</summary>
    private readonly record struct Factors(bool Lerp, float S0, float S1, float SinTheta)
    {
        /// <summary>
        /// The first NaN factor, if any (the vector holds a NaN, so its sums are NaN): every output element of the
        /// vector is then that NaN, rather than whichever operand's payload the JIT's operand order lets survive.
        /// </summary>
        public float? NaN => float.IsNaN(S0) ? S0 : float.IsNaN(S1) ? S1 : !Lerp && float.IsNaN(SinTheta) ? SinTheta : null;
    }

    private sealed unsafe class State : ITensorMerge, IStoredBytesMerge
    {
        private readonly TensorJob job;
        private readonly DType dtype;
        private readonly double t;
        private readonly float floor;
        private readonly bool columns;
        private readonly VectorLayout layout;
        private readonly long columnCount;

        // Per vector (whole tensor / rows: LaneSums for the vector in progress; columns: one double per column).
        private readonly LaneSum squares0 = new();
        private readonly LaneSum squares1 = new();
        private readonly LaneSum products = new();
        private double[] columnSquares0 = [];
        private double[] columnSquares1 = [];
        private double[] columnProducts = [];
        private float[] norms0 = [];
        private float[] norms1 = [];
        private Factors[] factors = [];
        private float[] lerp = [];
        private float[] s0 = [];
        private float[] s1 = [];
        private float[] sinTheta = [];
        private float[] d0 = [];
        private float[] d1 = [];
        private float[] terms = [];

        public State(TensorJob job)
        {
            this.job = job;
            dtype = job.ComputeDType;
            t = Factor(job.Inputs[0].Parameter("weight"), job.Inputs[1].Parameter("weight"));
            floor = FloatCodec.Round(dtype, NormFloor);
            var count = job.ElementCount;
            if (job.Parameter("nuslerp_flatten") != 0)
            {
                layout = VectorLayout.Flat(count);
            }
            else if (job.Parameter("nuslerp_row_wise") != 0 && job.Shape.Length > 0 && job.Shape[0] != 0)
            {
                columns = true;
                columnCount = count / job.Shape[0];
            }
            else
            {
                layout = VectorLayout.LastDim(job.Shape, count);
            }

            // Dim-0 vectors keep the buffer path: their sums run per column (ColumnSums), not per lane.
            ReadsStoredBytes = !columns && job.Vocabulary is null && dtype is DType.BF16 or DType.F32 &&
                               job.OutputDType == DType.BF16 && job.Inputs.All(i => i.Tensor.DType == DType.BF16) &&
                               job.Base?.Tensor.DType is null or DType.BF16;
        }

        public bool ReadsStoredBytes { get; }

        public int StatisticsPasses => 2;

        public bool ChunksAreIndependent => true;

        public long StateBytes => (columns ? columnCount * 40 : layout.Count * 16) + 4L * 4 * Math.Min(job.ElementCount, 1 << 14);

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            Prepare(buffers, chunk.Count, out var v0, out var v1);
            if (columns)
            {
                ObserveColumns(pass, v0, v1, chunk);
                return;
            }

            ObservePieces(pass, chunk, new BufferPieces(this, v0, v1));
        }

        /// <summary>The two models' stored bytes come first, the base model's (if any) last.</summary>
        public void ObserveStored(int pass, ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers) =>
            ObservePieces(pass, chunk, new StoredPieces(this, StoredPair(inputs)));

        /// <inheritdoc cref="ObserveStored"/>
        public void MergeStored(ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers, Span<byte> output)
        {
            var pair = StoredPair(inputs);
            fixed (byte* destination = output)
            {
                for (var offset = 0; offset < chunk.Count;)
                {
                    var length = layout.Piece(chunk.Start + offset, chunk.Count - offset, out var vector, out _);
                    var f = factors[vector];
                    if (f.NaN is { } nan)
                    {
                        new Span<ushort>((ushort*)destination + offset, length).Fill(BFloat16.FromSingle(nan));
                        offset += length;
                        continue;
                    }

                    StoredNuslerp.Mix(pair.Skip(offset), f.Lerp ? (float)(1 - t) : f.S0, f.Lerp ? (float)t : f.S1, f.Lerp,
                        f.SinTheta, length, (ushort*)destination + offset);
                    offset += length;
                }
            }
        }

        public void EndPass(int pass)
        {
            if (columns)
            {
                for (var c = 0; c < columnCount; c++)
                {
                    if (pass == 0)
                    {
                        norms0[c] = Norm(columnSquares0[c]);
                        norms1[c] = Norm(columnSquares1[c]);
                    }
                    else
                    {
                        SetFactors(c, columnProducts[c]);
                    }
                }
            }

            if (pass == 1)
            {
                d0 = d1 = terms = [];
                columnSquares0 = columnSquares1 = columnProducts = [];
            }
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            var baseValues = buffers.Base;
            if (columns)
            {
                for (var offset = 0; offset < count;)
                {
                    var column = (chunk.Start + offset) % columnCount;
                    var length = (int)Math.Min(count - offset, columnCount - column);
                    var kernel = new ColumnOutputKernel(buffers.Inputs[0], buffers.Inputs[1], baseValues, buffers.Output,
                        lerp, s0, s1, sinTheta, (float)(1 - t), (float)t, offset, (int)column);
                    Lanes.ForEach(dtype, ref kernel, length);
                    offset += length;
                }

                return;
            }

            for (var offset = 0; offset < count;)
            {
                var length = layout.Piece(chunk.Start + offset, count - offset, out var vector, out _);
                var f = factors[vector];
                if (f.NaN is { } nan)
                {
                    buffers.Output.AsSpan(offset, length).Fill(nan);
                    offset += length;
                    continue;
                }

                var kernel = new OutputKernel(buffers.Inputs[0], buffers.Inputs[1], baseValues, buffers.Output,
                    f.Lerp ? (float)(1 - t) : f.S0, f.Lerp ? (float)t : f.S1, f.Lerp, f.SinTheta, offset);
                Lanes.ForEach(dtype, ref kernel, length);
                offset += length;
            }
        }

        private void ObserveColumns(int pass, float[] v0, float[] v1, MergeChunk chunk)
        {
            if (norms0.Length == 0)
            {
                columnSquares0 = new double[columnCount];
                columnSquares1 = new double[columnCount];
                columnProducts = new double[columnCount];
                norms0 = new float[columnCount];
                norms1 = new float[columnCount];
                lerp = new float[columnCount];
                s0 = new float[columnCount];
                s1 = new float[columnCount];
                sinTheta = new float[columnCount];
            }

            for (var offset = 0; offset < chunk.Count;)
            {
                var column = (int)((chunk.Start + offset) % columnCount);
                var length = (int)Math.Min(chunk.Count - offset, columnCount - column);
                if (pass == 0)
                {
                    ColumnSums.AddSquares(columnSquares0.AsSpan(column, length), v0.AsSpan(offset, length));
                    ColumnSums.AddSquares(columnSquares1.AsSpan(column, length), v1.AsSpan(offset, length));
                }
                else
                {
                    var kernel = new ColumnCosineKernel(v0, v1, terms, norms0, norms1, offset, column);
                    Lanes.ForEach(dtype, ref kernel, length);
                    ColumnSums.Add(columnProducts.AsSpan(column, length), terms.AsSpan(0, length));
                }

                offset += length;
            }
        }

        /// <summary>A chunk's sums for pass 0 (squares) or 1 (cosine terms), piece by piece, finishing each vector.</summary>
        private void ObservePieces<TPieces>(int pass, MergeChunk chunk, TPieces pieces)
            where TPieces : struct, IVectorPieces
        {
            if (norms0.Length == 0)
            {
                norms0 = new float[layout.Count];
                norms1 = new float[layout.Count];
                factors = new Factors[layout.Count];
            }

            for (var offset = 0; offset < chunk.Count;)
            {
                var length = layout.Piece(chunk.Start + offset, chunk.Count - offset, out var vector, out var k);
                if (pass == 0)
                {
                    pieces.AddSquares(offset, length, k);
                }
                else
                {
                    pieces.AddCosines(offset, length, k, norms0[vector], norms1[vector]);
                }

                if (k + length == layout.Length)
                {
                    FinishVector(pass, vector);
                }

                offset += length;
            }
        }

        private StoredNuslerp.Pair StoredPair(ReadOnlySpan<nint> inputs) =>
            new((ushort*)inputs[0], (ushort*)inputs[1], inputs.Length > 2 ? (ushort*)inputs[2] : null, dtype == DType.BF16);

        private void FinishVector(int pass, long vector)
        {
            if (pass == 0)
            {
                norms0[vector] = Norm(squares0.Total);
                norms1[vector] = Norm(squares1.Total);
                squares0.Clear();
                squares1.Clear();
            }
            else
            {
                SetFactors(vector, products.Total);
                products.Clear();
            }
        }

        /// <summary>max(‖v‖, 1e-7) in D (Math.Max: a NaN norm stays NaN).</summary>
        private float Norm(double sumOfSquares) => Math.Max(TorchMath.Norm(dtype, sumOfSquares), floor);

        private void SetFactors(long vector, double cosineSum)
        {
            var cos = Math.Clamp(TorchMath.Dot(dtype, cosineSum), -1f, 1f);
            var theta = FloatCodec.Round(dtype, MathF.Acos(cos));
            var sin = FloatCodec.Round(dtype, MathF.Sin(theta));
            var a = (float)(1 - t);
            var b = (float)t;
            var result = Math.Abs(sin) < ColinearEpsilon
                ? new Factors(true, a, b, sin)
                : new Factors(false, FloatCodec.Round(dtype, MathF.Sin(FloatCodec.Round(dtype, a * theta))),
                    FloatCodec.Round(dtype, MathF.Sin(FloatCodec.Round(dtype, b * theta))), sin);
            if (columns)
            {
                lerp[vector] = result.Lerp ? BitConverter.UInt32BitsToSingle(uint.MaxValue) : 0f;
                s0[vector] = result.S0;
                s1[vector] = result.S1;
                sinTheta[vector] = result.SinTheta;
            }
            else
            {
                factors[vector] = result;
            }
        }

        /// <summary>The two vectors of a chunk: the inputs, or their task vectors D(x − b) in scratch.</summary>
        private void Prepare(MergeBuffers buffers, int count, out float[] v0, out float[] v1)
        {
            if (terms.Length < count)
            {
                terms = new float[count];
                if (buffers.Base is not null)
                {
                    d0 = new float[count];
                    d1 = new float[count];
                }
            }

            v0 = buffers.Inputs[0];
            v1 = buffers.Inputs[1];
            if (buffers.Base is { } b)
            {
                var kernel = new DifferenceKernel(v0, v1, b, d0, d1);
                Lanes.ForEach(dtype, ref kernel, count);
                v0 = d0;
                v1 = d1;
            }
        }

        /// <summary>Pieces of the chunk's decoded buffers (the inputs, or their task vectors).</summary>
        private readonly struct BufferPieces(State state, float[] v0, float[] v1) : IVectorPieces
        {
            public void AddSquares(int offset, int length, long k)
            {
                state.squares0.AddSquares(v0.AsSpan(offset, length), k);
                state.squares1.AddSquares(v1.AsSpan(offset, length), k);
            }

            public void AddCosines(int offset, int length, long k, float norm0, float norm1)
            {
                var kernel = new CosineKernel(v0, v1, state.terms, norm0, norm1, offset);
                Lanes.ForEach(state.dtype, ref kernel, length);
                state.products.Add(state.terms.AsSpan(0, length), k);
            }
        }

        /// <summary>Pieces of the chunk's stored bytes.</summary>
        private readonly struct StoredPieces(State state, StoredNuslerp.Pair pair) : IVectorPieces
        {
            public void AddSquares(int offset, int length, long k) =>
                StoredNuslerp.AddSquares(state.squares0, state.squares1, pair.Skip(offset), length, k);

            public void AddCosines(int offset, int length, long k, float norm0, float norm1) =>
                StoredNuslerp.AddCosines(state.products, pair.Skip(offset), norm0, norm1, length, k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Difference<TOps, T, TWide>(float[] x, float[]? b, nint i)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct =>
        b is null ? TOps.Load(x, i) : TOps.Round(TOps.Subtract(TOps.Load(x, i), TOps.Load(b, i)));

    /// <summary>The per-element result from one vector's factors; with a base, D(b + out).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Interpolate<TOps, T, TWide>(T v0, T v1, T s0, T s1, T lerp, T sinTheta)
        where TOps : struct, ILaneOps<T, TWide>
        where T : struct
        where TWide : struct
    {
        var sum = TOps.Round(TOps.Add(TOps.Round(TOps.Multiply(s0, v0)), TOps.Round(TOps.Multiply(s1, v1))));
        return TOps.Select(lerp, sum, TOps.Round(TOps.Divide(sum, sinTheta)));
    }

    private readonly struct DifferenceKernel(float[] x0, float[] x1, float[] b, float[] d0, float[] d1) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            TOps.Store(d0, i, Difference<TOps, T, TWide>(x0, b, i));
            TOps.Store(d1, i, Difference<TOps, T, TWide>(x1, b, i));
        }
    }

    /// <summary>D(D(v0/n0)·D(v1/n1)), the terms of the cosine, for one piece of one vector.</summary>
    private readonly struct CosineKernel(float[] v0, float[] v1, float[] terms, float n0, float n1, int offset) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var u0 = TOps.Round(TOps.Divide(TOps.Load(v0, offset + i), TOps.Splat(n0)));
            var u1 = TOps.Round(TOps.Divide(TOps.Load(v1, offset + i), TOps.Splat(n1)));
            TOps.Store(terms, i, TOps.Round(TOps.Multiply(u0, u1)));
        }
    }

    /// <summary>The cosine terms of one row piece with every column's own norms.</summary>
    private readonly struct ColumnCosineKernel(float[] v0, float[] v1, float[] terms, float[] n0, float[] n1, int offset,
        int column) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var u0 = TOps.Round(TOps.Divide(TOps.Load(v0, offset + i), TOps.Load(n0, column + i)));
            var u1 = TOps.Round(TOps.Divide(TOps.Load(v1, offset + i), TOps.Load(n1, column + i)));
            TOps.Store(terms, i, TOps.Round(TOps.Multiply(u0, u1)));
        }
    }

    private readonly struct OutputKernel(float[] x0, float[] x1, float[]? b, float[] output, float s0, float s1,
        bool lerp, float sinTheta, int offset) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var at = offset + i;
            var value = Interpolate<TOps, T, TWide>(Difference<TOps, T, TWide>(x0, b, at),
                Difference<TOps, T, TWide>(x1, b, at), TOps.Splat(s0), TOps.Splat(s1),
                TOps.Splat(lerp ? BitConverter.UInt32BitsToSingle(uint.MaxValue) : 0f), TOps.Splat(sinTheta));
            TOps.Store(output, at, b is null ? value : TOps.Round(TOps.Add(TOps.Load(b, at), value)));
        }
    }

    private readonly struct ColumnOutputKernel(float[] x0, float[] x1, float[]? b, float[] output, float[] lerp,
        float[] s0, float[] s1, float[] sinTheta, float a, float t, int offset, int column) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var at = offset + i;
            var c = column + i;
            var isLerp = TOps.Load(lerp, c);
            var value = Interpolate<TOps, T, TWide>(Difference<TOps, T, TWide>(x0, b, at),
                Difference<TOps, T, TWide>(x1, b, at),
                TOps.Select(isLerp, TOps.Splat(a), TOps.Load(s0, c)), TOps.Select(isLerp, TOps.Splat(t), TOps.Load(s1, c)),
                isLerp, TOps.Load(sinTheta, c));
            TOps.Store(output, at, b is null ? value : TOps.Round(TOps.Add(TOps.Load(b, at), value)));
        }
    }
}
