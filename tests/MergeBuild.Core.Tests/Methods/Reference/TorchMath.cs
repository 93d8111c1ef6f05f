// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// The reductions the geometric methods share, emulating torch in the compute dtype D: element-wise products are
/// rounded to D, sums and norms are accumulated in double (torch accumulates reduced-precision reductions in float32;
/// double only makes the one final rounding more accurate) and the result is rounded once to D.
/// </summary>
internal static class TorchMath
{
    /// <summary><c>torch.norm(x)</c> over one vector, rounded to D.</summary>
    public static float Norm(DType dtype, ReadOnlySpan<float> x, VectorLayout layout, int v)
    {
        var sum = 0.0;
        for (var k = 0; k < layout.Length; k++)
        {
            double value = x[layout.Index(v, k)];
            sum += value * value;
        }

        return FloatCodec.Round(dtype, (float)Math.Sqrt(sum));
    }

    /// <summary><c>torch.norm(x)</c> of a whole tensor, rounded to D.</summary>
    public static float Norm(DType dtype, ReadOnlySpan<float> x) => Norm(dtype, x, VectorLayout.Flat(x.Length), 0);

    /// <summary><c>(a * b).sum(-1)</c> over one vector: each product rounded to D, the sum rounded once to D.</summary>
    public static float Dot(DType dtype, ReadOnlySpan<float> a, ReadOnlySpan<float> b, VectorLayout layout, int v)
    {
        var sum = 0.0;
        for (var k = 0; k < layout.Length; k++)
        {
            var i = layout.Index(v, k);
            sum += FloatCodec.Round(dtype, a[i] * b[i]);
        }

        return FloatCodec.Round(dtype, (float)sum);
    }

    /// <summary><c>(a * b).sum()</c> of whole tensors.</summary>
    public static float Dot(DType dtype, ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        Dot(dtype, a, b, VectorLayout.Flat(a.Length), 0);

    /// <summary><c>a - b</c> element by element, rounded to D.</summary>
    public static void Subtract(DType dtype, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> result)
    {
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = FloatCodec.Round(dtype, a[i] - b[i]);
        }
    }
}
