// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>nearswap</c>: takes the other model's value where it is close to the base and keeps the base where they differ
/// much: <c>w = clamp(t / max(|b − x|, 1e-6), 0, 1)</c>, <c>out = w·x + (1 − w)·b</c>, element by element.
/// </summary>
/// <remarks>
/// In torch arithmetic in the compute dtype D (every op rounded to D; the clamp floor 1e-6 is rounded to D). Python
/// evaluates <c>t / tensor</c> as <c>tensor.reciprocal() * t</c>, so the weight is the rounded reciprocal times t,
/// rounded again, which is what this class computes. t = 0 gives the base.
/// </remarks>
internal sealed class ReferenceNearswap : IMergeMethod
{
    public string Name => "nearswap";

    public bool IsElementwise => true;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? [.. inputDTypes, b] : inputDTypes);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var t = (float)job.Parameter("t");
        var floor = FloatCodec.Round(dtype, 1e-6f);
        var b = buffers.Base!.AsSpan(0, count);
        var x = buffers.Inputs[0].AsSpan(0, count);
        var output = buffers.Output.AsSpan(0, count);
        for (var e = 0; e < count; e++)
        {
            var distance = Math.Max(Math.Abs(FloatCodec.Round(dtype, b[e] - x[e])), floor);
            var weight = Math.Clamp(FloatCodec.Round(dtype, FloatCodec.Round(dtype, 1f / distance) * t), 0f, 1f);
            output[e] = FloatCodec.Round(dtype,
                FloatCodec.Round(dtype, weight * x[e]) + FloatCodec.Round(dtype, FloatCodec.Round(dtype, 1f - weight) * b[e]));
        }
    }
}
