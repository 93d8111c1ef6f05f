namespace MergeBuild.Checkpoints;

/// <summary>Shape arithmetic shared by the reader (which must not overflow on hostile input) and the planner.</summary>
internal static class TensorShapes
{
    /// <summary>Product of the dimensions; throws <see cref="OverflowException"/> past <see cref="long.MaxValue"/>.</summary>
    public static long ElementCount(long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException("Shape dimensions must not be negative.", nameof(shape));
            }

            count = checked(count * dim);
        }

        return count;
    }

    /// <summary>Elements times element size, or false when that does not fit in a <see cref="long"/>.</summary>
    public static bool TryByteLength(long[] shape, int elementSize, out long byteLength)
    {
        try
        {
            byteLength = checked(ElementCount(shape) * elementSize);
            return true;
        }
        catch (OverflowException)
        {
            byteLength = 0;
            return false;
        }
    }

    public static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
