using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// <c>passthrough</c>: copies its single input, optionally multiplied by the per-model <c>scale</c>. With
/// <c>slices:</c> it assembles layers from several models ("frankenmerges").
/// </summary>
/// <remarks>
/// torch multiplies a reduced-precision tensor by a Python number in float32 and rounds once (the number is not
/// rounded to the tensor's dtype first), which is what <see cref="Merge"/> does. Without a scale and without a dtype
/// change the executor copies the bytes and never calls this.
/// </remarks>
public sealed class PassthroughMethod : IMergeMethod
{
    public string Name => "passthrough";

    public bool IsElementwise => true;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) => inputDTypes[0];

    /// <summary>True when the job is a plain byte copy: no scale and one dtype throughout.</summary>
    public static bool IsByteCopy(TensorJob job) =>
        job.Inputs.Count == 1 && job.Inputs[0].OptionalParameter("scale") is null &&
        job.Inputs[0].Tensor.DType == job.ComputeDType && job.ComputeDType == job.OutputDType;

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var input = buffers.Inputs[0].AsSpan(0, count);
        var output = buffers.Output.AsSpan(0, count);
        if (job.Inputs[0].OptionalParameter("scale") is not { } scale)
        {
            input.CopyTo(output);
            return;
        }

        var factor = (float)scale;
        for (var e = 0; e < count; e++)
        {
            output[e] = FloatCodec.Round(job.ComputeDType, input[e] * factor);
        }
    }
}
