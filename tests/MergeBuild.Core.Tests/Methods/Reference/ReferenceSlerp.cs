// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>slerp</c>: spherical interpolation between the base model (v0) and the other model (v1), the whole tensor being
/// one vector: <c>out = sin((1−t)θ)/sin θ · v0 + sin(tθ)/sin θ · v1</c> with θ the angle between them, or the plain
/// lerp <c>(1−t)·v0 + t·v1</c> when the unit vectors are nearly colinear (|cos θ| &gt; 0.9995).
/// </summary>
/// <remarks>
/// mergekit computes slerp in numpy float32 whatever the recipe's dtype, then casts to the base tensor's dtype; so
/// does this class (the inputs arrive in the compute dtype, which defaults to the base's dtype). The two norms and
/// the dot product of the unit vectors are accumulated in double and rounded to float32, where numpy accumulates in
/// float32: a more accurate reduction, never a different branch in practice. t = 0 and t = 1 return the endpoints
/// bit for bit (mergekit's formula would turn a −0 into +0 there).
/// </remarks>
internal sealed class ReferenceSlerp : IMergeMethod
{
    /// <summary>|cos θ| above which the vectors count as colinear and are lerped.</summary>
    public const double DotThreshold = 0.9995;

    /// <summary>A vector whose norm is at most this is left unnormalised.</summary>
    public const double NormEpsilon = 1e-8;

    public string Name => "slerp";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        baseDType ?? inputDTypes[0];

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var v0 = buffers.Base!.AsSpan(0, count);
        var v1 = buffers.Inputs[0].AsSpan(0, count);
        var output = buffers.Output.AsSpan(0, count);
        var t = job.Parameter("t");
        if (t == 0)
        {
            v0.CopyTo(output);
            return;
        }

        if (t == 1)
        {
            v1.CopyTo(output);
            return;
        }

        var (s0, s1, _) = Coefficients(t, v0, v1);
        var dtype = job.ComputeDType;
        for (var e = 0; e < count; e++)
        {
            output[e] = FloatCodec.Round(dtype, s0 * v0[e] + s1 * v1[e]);
        }
    }

    /// <summary>
    /// The float32 factors of v0 and v1 (numpy's float32 scalar arithmetic) and whether the lerp fallback applies.
    /// </summary>
    internal static (float S0, float S1, bool Lerp) Coefficients(double t, ReadOnlySpan<float> v0, ReadOnlySpan<float> v1)
    {
        var n0 = UnitScale(v0);
        var n1 = UnitScale(v1);
        var dot = 0.0;
        for (var e = 0; e < v0.Length; e++)
        {
            // numpy divides each element by the float32 norm (v / ‖v‖ in float32), then multiplies the unit vectors.
            dot += (double)(v0[e] / n0) * (v1[e] / n1);
        }

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

    /// <summary>The float32 norm the vector is divided by, or 1 when it is too small to normalise.</summary>
    private static float UnitScale(ReadOnlySpan<float> v)
    {
        var sum = 0.0;
        foreach (var x in v)
        {
            sum += (double)x * x;
        }

        var norm = (float)Math.Sqrt(sum);
        return norm > NormEpsilon ? norm : 1f;
    }
}
