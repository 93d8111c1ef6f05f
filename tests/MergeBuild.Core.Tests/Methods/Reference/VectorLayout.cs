// The whole-tensor implementation that streaming replaced (commit 273e554), kept verbatim as the oracle of
// StreamingEquivalenceTests and StreamingMergeTests: the streamed methods must give its bits.
using MergeBuild.Methods;
namespace MergeBuild.Core.Tests.Methods.Reference;

/// <summary>
/// How a flat row-major tensor splits into the vectors a geometric method treats independently: element k of
/// vector v sits at flat index <c>v·<see cref="VectorStep"/> + k·<see cref="Stride"/></c>.
/// </summary>
/// <param name="Count">Number of vectors.</param>
/// <param name="Length">Elements per vector.</param>
/// <param name="Stride">Distance between consecutive elements of one vector.</param>
/// <param name="VectorStep">Distance between the first elements of consecutive vectors.</param>
internal readonly record struct VectorLayout(int Count, int Length, int Stride, int VectorStep)
{
    /// <summary>The whole tensor as one vector (<c>x.view(-1)</c>).</summary>
    public static VectorLayout Flat(int elementCount) => new(1, elementCount, 1, elementCount);

    /// <summary>Vectors along the last dim (<c>x[..., :]</c>, torch's <c>dim=-1</c>); a 1-D tensor is one vector.</summary>
    public static VectorLayout LastDim(long[] shape, int elementCount)
    {
        var length = shape.Length == 0 ? 1 : (int)shape[^1];
        return length == 0 ? Flat(elementCount) : new(elementCount / length, length, 1, length);
    }

    /// <summary>
    /// Vectors along dim 0 (<c>x[:, j…]</c>): what torch gets after <c>transpose(0, -1)</c> and reducing over the last
    /// dim. A 1-D tensor is one vector.
    /// </summary>
    public static VectorLayout FirstDim(long[] shape, int elementCount)
    {
        var length = shape.Length == 0 ? 1 : (int)shape[0];
        return length == 0 ? Flat(elementCount) : new(elementCount / length, length, elementCount / length, 1);
    }

    /// <summary>Flat index of element <paramref name="k"/> of vector <paramref name="v"/>.</summary>
    public int Index(int v, int k) => v * VectorStep + k * Stride;
}
