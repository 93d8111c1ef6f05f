using MergeBuild.Methods.Kernels;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// <c>nearswap</c>: takes the other model's value where it is close to the base and keeps the base where they differ
/// much: <c>w = clamp(t / max(|b − x|, 1e-6), 0, 1)</c>, <c>out = w·x + (1 − w)·b</c>, element by element.
/// </summary>
/// <remarks>
/// In torch arithmetic in the compute dtype D (every op rounded to D; the clamp floor 1e-6 is rounded to D). Python
/// evaluates <c>t / tensor</c> as <c>tensor.reciprocal() * t</c>, so the weight is the rounded reciprocal times t,
/// rounded again, which is what this class computes. t = 0 gives the base. Streamed chunk by chunk, vectorized.
/// </remarks>
public sealed class NearswapMethod : IMergeMethod
{
    public string Name => "nearswap";

    public bool IsElementwise => true;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? [.. inputDTypes, b] : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var dtype = job.ComputeDType;
        var kernel = new Kernel(buffers.Base!, buffers.Inputs[0], buffers.Output, (float)job.Parameter("t"),
            FloatCodec.Round(dtype, 1e-6f));
        Lanes.ForEach(dtype, ref kernel, chunk.Count);
    }

    private readonly struct Kernel(float[] b, float[] x, float[] output, float t, float floor) : ILaneKernel
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Run<TOps, T, TWide>(nint i)
            where TOps : struct, ILaneOps<T, TWide>
            where T : struct
            where TWide : struct
        {
            var bv = TOps.Load(b, i);
            var xv = TOps.Load(x, i);
            var floorV = TOps.Splat(floor);
            var one = TOps.Splat(1f);
            var zero = TOps.Splat(0f);
            // max(|b − x|, floor) as Math.Max does it (a NaN distance stays NaN).
            var distance = TOps.Abs(TOps.Round(TOps.Subtract(bv, xv)));
            distance = TOps.Select(TOps.GreaterThan(floorV, distance), floorV, distance);
            var weight = TOps.Round(TOps.Multiply(TOps.Round(TOps.Divide(one, distance)), TOps.Splat(t)));
            // Math.Clamp(weight, 0, 1): NaN passes through.
            weight = TOps.Select(TOps.LessThan(weight, zero), zero, TOps.Select(TOps.GreaterThan(weight, one), one, weight));
            var kept = TOps.Round(TOps.Multiply(TOps.Round(TOps.Subtract(one, weight)), bv));
            TOps.Store(output, i, TOps.Round(TOps.Add(TOps.Round(TOps.Multiply(weight, xv)), kept)));
        }
    }
}
