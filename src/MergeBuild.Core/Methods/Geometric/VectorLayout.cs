namespace MergeBuild.Methods.Geometric;

/// <summary>
/// How a flat row-major tensor splits into the contiguous vectors a geometric method treats independently: the
/// whole tensor as one vector, or one vector per slice along the last dim. Streaming code walks a chunk piece by
/// piece, each piece inside one vector (<see cref="Piece"/>).
/// </summary>
/// <param name="Length">Elements per vector.</param>
/// <param name="Count">Number of vectors.</param>
internal readonly record struct VectorLayout(long Length, long Count)
{
    /// <summary>The whole tensor as one vector (<c>x.view(-1)</c>).</summary>
    public static VectorLayout Flat(long elementCount) => new(elementCount, 1);

    /// <summary>Vectors along the last dim (<c>x[..., :]</c>, torch's <c>dim=-1</c>); a 1-D tensor is one vector.</summary>
    public static VectorLayout LastDim(long[] shape, long elementCount)
    {
        var length = shape.Length == 0 ? 1 : shape[^1];
        return length == 0 ? Flat(elementCount) : new(length, elementCount / length);
    }

    /// <summary>
    /// The piece of <c>[position, position + remaining)</c> that lies in one vector: returns its length and sets the
    /// vector's index and the piece's offset <paramref name="k"/> within the vector.
    /// </summary>
    public int Piece(long position, int remaining, out long vector, out long k)
    {
        if (Length == 0)
        {
            vector = k = 0;
            return remaining;
        }

        vector = position / Length;
        k = position - vector * Length;
        return (int)Math.Min(remaining, Length - k);
    }
}
