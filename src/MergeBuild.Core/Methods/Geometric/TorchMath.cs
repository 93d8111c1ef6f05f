using MergeBuild.Tensors;

namespace MergeBuild.Methods.Geometric;

/// <summary>
/// The scalar steps the geometric methods share, emulating torch in the compute dtype D. Reductions (norms, dot
/// products) are accumulated in double — torch accumulates reduced-precision reductions in float32; double only makes
/// the one final rounding more accurate — by <see cref="Kernels.LaneSum"/> (vectors) or per column in flat order,
/// and finished here.
/// </summary>
internal static class TorchMath
{
    /// <summary><c>torch.norm(x)</c> from its accumulated sum of squares, rounded to D.</summary>
    public static float Norm(DType dtype, double sumOfSquares) => FloatCodec.Round(dtype, (float)Math.Sqrt(sumOfSquares));

    /// <summary><c>(a * b).sum()</c> from its accumulated D-rounded products, rounded once to D.</summary>
    public static float Dot(DType dtype, double sumOfProducts) => FloatCodec.Round(dtype, (float)sumOfProducts);
}
