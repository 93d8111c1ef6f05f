// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// <c>nuslerp</c>: slerp between two models with <c>t = w₂/(w₁+w₂)</c> from their weights (recipe order; 0.5 when
/// |w₁+w₂| &lt; 1e-6), optionally on task vectors against a base: <c>out = b + nuslerp(t, x₁−b, x₂−b)</c>.
/// </summary>
/// <remarks>
/// <para>Vectors: the whole tensor with <c>nuslerp_flatten</c> (default); otherwise one vector per slice along the last
/// dim (<c>x[i, :]</c>), or along dim 0 (<c>x[:, j]</c>) with <c>nuslerp_row_wise: true</c> — mergekit's naming.</para>
/// <para>Per vector, in torch arithmetic in the compute dtype D: <c>u = v/max(‖v‖, 1e-7)</c>,
/// <c>θ = acos(clamp(Σu₀u₁, −1, 1))</c>, <c>out = (sin((1−t)θ)·v₀ + sin(tθ)·v₁)/sin θ</c>, and the lerp
/// <c>(1−t)·v₀ + t·v₁</c> where |sin θ| &lt; 1e-8. Unlike <see cref="ReferenceSlerp"/> there is no 0.9995 threshold.
/// Every tensor op is rounded to D; the Python number t multiplies in float32 and rounds once.</para>
/// </remarks>
internal sealed class ReferenceNuslerp : IMergeMethod
{
    private const float NormFloor = 1e-7f;
    private const double ColinearEpsilon = 1e-8;

    public string Name => "nuslerp";

    public bool IsElementwise => false;

    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) =>
        DTypePromotion.Promote(baseDType is { } b ? [.. inputDTypes, b] : inputDTypes);

    /// <summary>mergekit's interpolation factor from the two models' weights (Python double arithmetic).</summary>
    public static double Factor(double w1, double w2) => Math.Abs(w1 + w2) < 1e-6 ? 0.5 : w2 / (w1 + w2);

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var dtype = job.ComputeDType;
        var t = Factor(job.Inputs[0].Parameter("weight"), job.Inputs[1].Parameter("weight"));
        var output = buffers.Output.AsSpan(0, count);
        ReadOnlySpan<float> v0 = buffers.Inputs[0].AsSpan(0, count);
        ReadOnlySpan<float> v1 = buffers.Inputs[1].AsSpan(0, count);
        float[]? baseValues = buffers.Base;
        if (baseValues is not null)
        {
            var d0 = new float[count];
            var d1 = new float[count];
            TorchMath.Subtract(dtype, v0, baseValues, d0);
            TorchMath.Subtract(dtype, v1, baseValues, d1);
            v0 = d0;
            v1 = d1;
        }

        var layout = job.Parameter("nuslerp_flatten") != 0 ? VectorLayout.Flat(count)
            : job.Parameter("nuslerp_row_wise") != 0 ? VectorLayout.FirstDim(job.Shape, count)
            : VectorLayout.LastDim(job.Shape, count);
        for (var v = 0; v < layout.Count; v++)
        {
            Interpolate(dtype, t, v0, v1, layout, v, output);
        }

        if (baseValues is not null)
        {
            for (var e = 0; e < count; e++)
            {
                output[e] = FloatCodec.Round(dtype, baseValues[e] + output[e]);
            }
        }
    }

    private static void Interpolate(DType dtype, double t, ReadOnlySpan<float> v0, ReadOnlySpan<float> v1,
        VectorLayout layout, int v, Span<float> output)
    {
        var floor = FloatCodec.Round(dtype, NormFloor);
        var n0 = Math.Max(TorchMath.Norm(dtype, v0, layout, v), floor);
        var n1 = Math.Max(TorchMath.Norm(dtype, v1, layout, v), floor);
        var cosSum = 0.0;
        for (var k = 0; k < layout.Length; k++)
        {
            var i = layout.Index(v, k);
            var u0 = FloatCodec.Round(dtype, v0[i] / n0);
            var u1 = FloatCodec.Round(dtype, v1[i] / n1);
            cosSum += FloatCodec.Round(dtype, u0 * u1);
        }

        var cos = Math.Clamp(FloatCodec.Round(dtype, (float)cosSum), -1f, 1f);
        var theta = FloatCodec.Round(dtype, MathF.Acos(cos));
        var sinTheta = FloatCodec.Round(dtype, MathF.Sin(theta));
        var a = (float)(1 - t);
        var b = (float)t;
        if (Math.Abs(sinTheta) < ColinearEpsilon)
        {
            for (var k = 0; k < layout.Length; k++)
            {
                var i = layout.Index(v, k);
                output[i] = FloatCodec.Round(dtype, FloatCodec.Round(dtype, a * v0[i]) + FloatCodec.Round(dtype, b * v1[i]));
            }

            return;
        }

        var s0 = FloatCodec.Round(dtype, MathF.Sin(FloatCodec.Round(dtype, a * theta)));
        var s1 = FloatCodec.Round(dtype, MathF.Sin(FloatCodec.Round(dtype, b * theta)));
        for (var k = 0; k < layout.Length; k++)
        {
            var i = layout.Index(v, k);
            var sum = FloatCodec.Round(dtype, FloatCodec.Round(dtype, s0 * v0[i]) + FloatCodec.Round(dtype, s1 * v1[i]));
            output[i] = FloatCodec.Round(dtype, sum / sinTheta);
        }
    }
}
