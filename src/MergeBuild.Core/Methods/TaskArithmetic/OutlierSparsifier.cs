using System.Buffers;
using MergeBuild.Tensors;

namespace MergeBuild.Methods;

/// <summary>
/// Model Breadcrumbs sparsification (mergekit's <c>magnitude_outliers</c>): drop the n_top = ⌊gamma·n⌋ largest
/// magnitudes as outliers and the n_bot = n − ⌊density·n⌋ − n_top smallest, keep the rest (when n_bot would be negative,
/// fewer outliers are dropped so that ⌊density·n⌋ entries survive). Computed in the compute dtype.
/// </summary>
/// <remarks>
/// mergekit keeps <c>sorted[n_bot:-n_top]</c>, a Python slice that is empty when n_top = 0, so every tensor with
/// gamma·numel &lt; 1 loses its whole task vector. MergeBuild keeps the entries above n_bot instead (no outlier removed),
/// which is what the formula means.
/// </remarks>
internal static class OutlierSparsifier
{
    public static void Apply(Span<float> delta, double density, double gamma, bool rescale, DType dtype)
    {
        if (density >= 1)
        {
            // mergekit returns the task vector untouched here: gamma is ignored too.
            return;
        }

        long n = delta.Length;
        var (keep, top) = Ranks(density, gamma, n);
        var bottom = n - keep;
        var before = rescale ? L1Rescale.Norm(delta, dtype) : 0f;
        var pool = ArrayPool<bool>.Shared.Rent(delta.Length);
        try
        {
            // Kept = ranks (largest first) in [top, n − bottom): the top n − bottom minus the top `top`.
            var mask = pool.AsSpan(0, delta.Length);
            mask.Clear();
            MagnitudeRanking.MarkTop(delta, n - bottom, mask, true);
            MagnitudeRanking.MarkTop(delta, top, mask, false);
            SparsifyMask.Apply(delta, mask);
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

    /// <summary>
    /// The ranks kept, largest first: [<paramref name="gamma"/>·n, n − n_bot) returned as the top count the range ends
    /// at (n − n_bot) and the outlier count removed from its top (n_top).
    /// </summary>
    public static (long Keep, long Outliers) Ranks(double density, double gamma, long n)
    {
        var target = (long)(density * n);
        var top = (long)(gamma * n);
        var bottom = n - target - top;
        if (bottom < 0)
        {
            top += bottom;
            bottom = 0;
        }

        return (n - bottom, top);
    }
}
