// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>Task vectors τᵢ = xᵢ − b as torch forms them in the compute dtype (one rounding per element).</summary>
internal static class TaskVectors
{
    /// <summary>
    /// The task vector of every input, in recipe order, over the first <paramref name="count"/> elements. The inputs
    /// are already in the compute dtype, so the difference is rounded to it once, as <c>t - base_tensor</c> would be.
    /// </summary>
    public static float[][] Compute(TensorJob job, MergeBuffers buffers, int count)
    {
        var dtype = job.ComputeDType;
        var baseValues = buffers.Base ?? throw new InvalidOperationException($"{job.OutputName}: the method needs a base tensor.");
        var result = new float[job.Inputs.Count][];
        for (var i = 0; i < result.Length; i++)
        {
            var input = buffers.Inputs[i];
            var tau = new float[count];
            for (var e = 0; e < count; e++)
            {
                tau[e] = FloatCodec.Round(dtype, input[e] - baseValues[e]);
            }

            result[i] = tau;
        }

        return result;
    }

    /// <summary>The last dimension's length (a row of a softmax); a 0-d tensor is one row of one element.</summary>
    public static int LastDimension(TensorJob job) => job.Shape.Length == 0 ? 1 : checked((int)job.Shape[^1]);
}
