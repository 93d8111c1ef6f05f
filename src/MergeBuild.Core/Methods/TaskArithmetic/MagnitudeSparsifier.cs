using System.Buffers;
using System.Globalization;
using MergeBuild.Diagnostics;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// TIES sparsification (mergekit's <c>magnitude</c>): keep the k = ⌊density·numel⌋ entries of largest |d| over the
/// whole tensor (not per row), zero the rest, optionally L1-rescale. Computed in the compute dtype.
/// </summary>
internal static class MagnitudeSparsifier
{
    public static void Apply(Span<float> delta, double density, bool rescale, DType dtype, string tensorName)
    {
        if (density >= 1)
        {
            return;
        }

        var k = Keep(density, delta.Length, tensorName);
        var before = rescale ? L1Rescale.Norm(delta, dtype) : 0f;
        var pool = ArrayPool<bool>.Shared.Rent(delta.Length);
        try
        {
            var keep = pool.AsSpan(0, delta.Length);
            keep.Clear();
            MagnitudeRanking.MarkTop(delta, k, keep, true);
            SparsifyMask.Apply(delta, keep);
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(pool);
        }

        if (rescale)
        {
            L1Rescale.Apply(delta, before, dtype);
        }
    }

    /// <summary>k = ⌊density·numel⌋ as Python's <c>int(density * numel)</c> computes it; 0 is a recipe error.</summary>
    public static long Keep(double density, long count, string tensorName)
    {
        // The product in double, truncated.
        var k = (long)(density * count);
        if (k <= 0)
        {
            // mergekit stops on an assertion here; a recipe error with the tensor named is more useful.
            throw new MergeBuildException(ErrorCodes.ParameterOutOfRange,
                string.Create(CultureInfo.InvariantCulture,
                    $"density {density} keeps no entry of '{tensorName}' ({count} elements): ⌊density·numel⌋ = 0."),
                hint: "Raise the density for this tensor (a filter on its name can set it separately).");
        }

        return k;
    }
}
