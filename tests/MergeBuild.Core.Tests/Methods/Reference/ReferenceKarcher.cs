// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

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
/// </remarks>
internal sealed class ReferenceKarcher : IMergeMethod
{
    public string Name => "karcher";

    public bool IsElementwise => false;

    // mergekit's running mean is a zeros_like of the first input, so the result keeps that input's dtype.
    public DType DefaultComputeDType(IReadOnlyList<DType> inputDTypes, DType? baseDType) => inputDTypes[0];

    public void Merge(TensorJob job, MergeBuffers buffers, MergeChunk chunk)
    {
        var count = chunk.Count;
        var n = job.Inputs.Count;
        var output = buffers.Output.AsSpan(0, count);
        if (n == 1)
        {
            buffers.Inputs[0].AsSpan(0, count).CopyTo(output);
            return;
        }

        var dtype = job.ComputeDType;
        float Round(float x) => FloatCodec.Round(dtype, x);
        var tol = job.Parameter("tol");
        var maxIter = (int)job.Parameter("max_iter");
        var alpha = 1.0 / n;

        var norms = new float[n];
        var valid = new List<float[]>();
        for (var i = 0; i < n; i++)
        {
            var x = buffers.Inputs[i].AsSpan(0, count);
            norms[i] = TorchMath.Norm(DType.F32, x);
            if (norms[i] > tol)
            {
                var unit = new float[count];
                for (var e = 0; e < count; e++)
                {
                    unit[e] = Round(x[e] / norms[i]);
                }

                valid.Add(unit);
            }
        }

        if (valid.Count == 0)
        {
            output.Clear();
            return;
        }

        // Equal weights, so each valid input's share is alpha / Σ valid alphas, summed in Python double.
        var alphaSum = 0.0;
        for (var i = 0; i < valid.Count; i++)
        {
            alphaSum += alpha;
        }

        var share = alpha / alphaSum;
        var u = new float[count];
        foreach (var unit in valid)
        {
            for (var e = 0; e < count; e++)
            {
                u[e] = Round(u[e] + Round((float)share * unit[e]));
            }
        }

        var uNorm = TorchMath.Norm(DType.F32, u);
        if (uNorm < tol)
        {
            valid[0].CopyTo(u, 0);
        }
        else
        {
            Scale(dtype, u, uNorm);
        }

        var tangent = new float[count];
        for (var iteration = 0; iteration < maxIter; iteration++)
        {
            Array.Clear(tangent);
            foreach (var unit in valid)
            {
                var dot = Math.Clamp(TorchMath.Dot(dtype, u, unit), -1f, 1f);
                var theta = Round(MathF.Acos(dot));
                if (theta < tol)
                {
                    continue;
                }

                var factor = Round((float)share * Round(theta / Round(MathF.Sin(theta))));
                for (var e = 0; e < count; e++)
                {
                    tangent[e] = Round(tangent[e] + Round(factor * Round(unit[e] - Round(dot * u[e]))));
                }
            }

            var tangentNorm = TorchMath.Norm(DType.F32, tangent);
            if (tangentNorm < tol)
            {
                break;
            }

            var cos = Round(MathF.Cos(tangentNorm));
            var sin = Round(MathF.Sin(tangentNorm));
            for (var e = 0; e < count; e++)
            {
                u[e] = Round(Round(cos * u[e]) + Round(sin * Round(tangent[e] / tangentNorm)));
            }

            var norm = TorchMath.Norm(DType.F32, u);
            if (norm > tol)
            {
                Scale(dtype, u, norm);
            }
        }

        var scale = 0.0;
        foreach (var norm in norms)
        {
            scale += alpha * norm;
        }

        for (var e = 0; e < count; e++)
        {
            output[e] = Round((float)scale * u[e]);
        }
    }

    /// <summary><c>(u / norm).to(D)</c> with a float32 norm: one float32 division, rounded once.</summary>
    private static void Scale(DType dtype, float[] u, float norm)
    {
        for (var e = 0; e < u.Length; e++)
        {
            u[e] = FloatCodec.Round(dtype, u[e] / norm);
        }
    }
}
