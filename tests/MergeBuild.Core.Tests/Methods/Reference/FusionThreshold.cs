// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// Arcee Fusion's dynamic threshold: median + 1.5·IQR of the importance scores, with mergekit's quantile rule
/// Q(q) = sorted[(long)(float32(q) · float32(|S| − 1))].
/// </summary>
/// <remarks>
/// mergekit estimates the quantiles from 10⁶ elements drawn with torch's global RNG when a tensor has more, so its
/// threshold depends on the RNG state and on the order tensors are processed. MergeBuild always uses every element:
/// for tensors of at most 10⁶ elements that is exactly mergekit's value, for larger ones it is the value mergekit's
/// sample estimates, and it depends on nothing but the tensor.
/// </remarks>
internal static class FusionThreshold
{
    /// <summary>The threshold in the compute dtype: D(median + D(1.5 · D(Q(0.75) − Q(0.25)))).</summary>
    public static float Compute(ReadOnlySpan<float> importance, DType dtype)
    {
        var sorted = importance.ToArray();
        // torch.sort puts NaN last; Array.Sort would put it first, so order NaN explicitly as the largest value.
        Array.Sort(sorted, static (a, b) => float.IsNaN(a) ? (float.IsNaN(b) ? 0 : 1) : float.IsNaN(b) ? -1 : a.CompareTo(b));
        var q1 = Quantile(sorted, 0.25f);
        var median = Quantile(sorted, 0.5f);
        var q3 = Quantile(sorted, 0.75f);
        var spread = FloatCodec.Round(dtype, 1.5f * FloatCodec.Round(dtype, q3 - q1));
        return FloatCodec.Round(dtype, median + spread);
    }

    /// <summary>sorted[(long)(q · (n − 1))], the product formed in float32 like torch's float tensor times an int.</summary>
    public static float Quantile(float[] sorted, float q) => sorted[(long)(q * (float)(sorted.Length - 1))];
}
