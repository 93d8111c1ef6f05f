using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// <c>slerp</c>: spherical interpolation between the base model (v0) and the other model (v1), the whole tensor being
/// one vector: <c>out = sin((1−t)θ)/sin θ · v0 + sin(tθ)/sin θ · v1</c> with θ the angle between them, or the plain
/// lerp <c>(1−t)·v0 + t·v1</c> when the unit vectors are nearly colinear (|cos θ| &gt; 0.9995).
/// </summary>
/// <remarks>
/// <para>mergekit computes slerp in numpy float32 whatever the recipe's dtype, then casts to the base tensor's dtype;
/// so does this class (the inputs arrive in the compute dtype, which defaults to the base's dtype). The two norms and
/// the dot product of the unit vectors are accumulated in double (<see cref="LaneSum"/>) and rounded to float32, where
/// numpy accumulates in float32: a more accurate reduction, never a different branch in practice. t = 0 and t = 1
/// return the endpoints bit for bit (mergekit's formula would turn a −0 into +0 there).</para>
/// <para>Streaming: pass 1 sums the squares of v0 and v1; pass 2 sums the products of the unit vectors (each element
/// divided by the float32 norm first, as numpy does, so the norms must be known); the output pass is element-wise.
/// State: three sums.</para>
/// </remarks>
public sealed class SlerpMethod : IMergeMethod
{
    /// <summary>|cos θ| above which the vectors count as colinear and are lerped.</summary>
    public const double DotThreshold = 0.9995;

    /// <summary>A vector whose norm is at most this is left unnormalised.</summary>
    public const double NormEpsilon = 1e-8;

    public string Name => "slerp";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        baseDType ?? inputDTypes[0];

    public ITensorMerge Begin(TensorJob job) => new State(job);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk) =>
        TensorMergeRunner.RunWhole(Begin(job), buffers, chunk);

    /// <summary>
    /// The float32 factors of v0 and v1 (numpy's float32 scalar arithmetic) and whether the lerp fallback applies.
    /// </summary>
    internal static (float S0, float S1, bool Lerp) Coefficients(double t, ReadOnlySpan<float> v0, ReadOnlySpan<float> v1)
    {
        LaneSum squares0 = new(), squares1 = new(), dot = new();
        squares0.AddSquares(v0, 0);
        squares1.AddSquares(v1, 0);
        var (x0, x1) = (v0.ToArray(), v1.ToArray());
        var (u0, u1) = (new float[v0.Length], new float[v1.Length]);
        var kernel = new UnitKernel(x0, x1, UnitScale(squares0.Total), UnitScale(squares1.Total), u0, u1);
        Lanes.ForEach(DType.F32, ref kernel, v0.Length);
        dot.AddProducts(u0, u1, 0);
        return Coefficients(t, dot.Total);
    }

    /// <summary>The factors from the accumulated dot product of the unit vectors.</summary>
    private static (float S0, float S1, bool Lerp) Coefficients(double t, double dot)
    {
        var cos = (float)dot;
        var tf = (float)t;
        if (Math.Abs(cos) > DotThreshold)
        {
            return ((float)(1 - t), tf, true);
        }

        var theta0 = MathF.Acos(cos);
        var sinTheta0 = MathF.Sin(theta0);
        var thetaT = theta0 * tf;
        return (MathF.Sin(theta0 - thetaT) / sinTheta0, MathF.Sin(thetaT) / sinTheta0, false);
    }

    /// <summary>The float32 norm a vector is divided by, or 1 when it is too small to normalise.</summary>
    private static float UnitScale(double sumOfSquares)
    {
        var norm = (float)Math.Sqrt(sumOfSquares);
        return norm > NormEpsilon ? norm : 1f;
    }

    private sealed unsafe class State(TensorJob job) : ITensorMerge, IStoredBytesMerge
    {
        private readonly double t = job.Parameter("t");
        private readonly LaneSum squares0 = new();
        private readonly LaneSum squares1 = new();
        private readonly LaneSum dot = new();
        private float norm0;
        private float norm1;
        private float s0;
        private float s1;

        // A NaN factor (the tensor holds a NaN, so every sum is NaN) makes every output element that NaN. Computing
        // s0·v0 + s1·v1 would give the same NaNs but for which operand's payload survives where an input is NaN too,
        // which the JIT decides by the order it gives a product's operands.
        private float? nanFactor;
        private float[] unit0 = [];
        private float[] unit1 = [];

        /// <summary>t = 0 and t = 1 copy an endpoint and need no statistics.</summary>
        private bool Endpoint => t is 0 or 1;

        public int StatisticsPasses => Endpoint ? 0 : 2;

        public bool ChunksAreIndependent => true;

        public long StateBytes => Endpoint ? 0 : 2L * 4 * Math.Min(job.ElementCount, 1 << 14);

        /// <summary>
        /// bf16 checkpoints merged in bf16 or float32 into a bf16 output are read and written as stored bytes (the
        /// endpoints keep the copy through float32, which is what quiets a signalling NaN as before).
        /// </summary>
        public bool ReadsStoredBytes { get; } =
            job.Parameter("t") is not (0 or 1) && job.Vocabulary is null && job.ComputeDType is DType.BF16 or DType.F32 &&
            job.OutputDType == DType.BF16 && job.Base?.Tensor.DType == DType.BF16 &&
            job.Inputs is [{ Tensor.DType: DType.BF16 }];

        /// <summary>v1's stored bytes come first, the base model's (v0) last (see <see cref="IStoredBytesMerge"/>).</summary>
        public void ObserveStored(int pass, ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers)
        {
            var v0 = (ushort*)inputs[1];
            var v1 = (ushort*)inputs[0];
            if (pass == 0)
            {
                StoredSlerp.AddSquares(squares0, v0, chunk.Count, chunk.Start);
                StoredSlerp.AddSquares(squares1, v1, chunk.Count, chunk.Start);
                return;
            }

            StoredSlerp.AddUnitProducts(dot, v0, v1, norm0, norm1, chunk.Count, chunk.Start);
        }

        /// <inheritdoc cref="ObserveStored"/>
        public void MergeStored(ReadOnlySpan<nint> inputs, MergeChunk chunk, MergeBuffers buffers, Span<byte> output)
        {
            if (nanFactor is { } nan)
            {
                MemoryMarshal.Cast<byte, ushort>(output)[..chunk.Count].Fill(BFloat16.FromSingle(nan));
                return;
            }

            fixed (byte* destination = output)
            {
                StoredSlerp.Mix((ushort*)inputs[1], (ushort*)inputs[0], s0, s1, chunk.Count, (ushort*)destination);
            }
        }

        public void Observe(int pass, MergeBuffers buffers, MergeChunk chunk)
        {
            var v0 = buffers.Base.AsSpan(0, chunk.Count);
            var v1 = buffers.Inputs[0].AsSpan(0, chunk.Count);
            if (pass == 0)
            {
                squares0.AddSquares(v0, chunk.Start);
                squares1.AddSquares(v1, chunk.Start);
                return;
            }

            if (unit0.Length < chunk.Count)
            {
                unit0 = new float[chunk.Count];
                unit1 = new float[chunk.Count];
            }

            var kernel = new UnitKernel(buffers.Base!, buffers.Inputs[0], norm0, norm1, unit0, unit1);
            Lanes.ForEach(DType.F32, ref kernel, chunk.Count);
            dot.AddProducts(unit0.AsSpan(0, chunk.Count), unit1.AsSpan(0, chunk.Count), chunk.Start);
        }

        public void EndPass(int pass)
        {
            if (pass == 0)
            {
                norm0 = UnitScale(squares0.Total);
                norm1 = UnitScale(squares1.Total);
                return;
            }

            (s0, s1, _) = Coefficients(t, dot.Total);
            nanFactor = float.IsNaN(s0) ? s0 : float.IsNaN(s1) ? s1 : null;
            unit0 = unit1 = [];
        }

        public void Merge(MergeBuffers buffers, MergeChunk chunk)
        {
            var count = chunk.Count;
            if (Endpoint)
            {
                (t == 0 ? buffers.Base! : buffers.Inputs[0]).AsSpan(0, count).CopyTo(buffers.Output);
                return;
            }

            if (nanFactor is { } nan)
            {
                buffers.Output.AsSpan(0, count).Fill(nan);
                return;
            }

            var kernel = new OutputKernel(buffers.Base!, buffers.Inputs[0], buffers.Output, s0, s1);
            Lanes.ForEach(job.ComputeDType, ref kernel, count);
        }
    }

    /// <summary>numpy's v / ‖v‖ in float32 (never rounded to D), for both vectors.</summary>
    private readonly struct UnitKernel(float[] v0, float[] v1, float norm0, float norm1, float[] u0, float[] u1)
        : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            TOps.Store(u0, i, TOps.Divide(TOps.Load(v0, i), TOps.Splat(norm0)));
            TOps.Store(u1, i, TOps.Divide(TOps.Load(v1, i), TOps.Splat(norm1)));
        }
    }

    /// <summary><c>s0·v0 + s1·v1</c> in float32 (products and sum unrounded, nothing fused), rounded once to D.</summary>
    private readonly struct OutputKernel(float[] v0, float[] v1, float[] output, float s0, float s1) : ILaneKernel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct =>
            TOps.Store(output, i, TOps.Round(TOps.Add(
                TOps.Multiply(TOps.Splat(s0), TOps.Load(v0, i)),
                TOps.Multiply(TOps.Splat(s1), TOps.Load(v1, i)))));
    }
}
