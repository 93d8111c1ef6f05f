namespace MergeBuild.Methods;

/// <summary>How a generalized task arithmetic method thins each task vector before mixing (mergekit's <c>sparsify.py</c>).</summary>
public enum Sparsification
{
    /// <summary>Task vectors are used whole (task_arithmetic).</summary>
    None,

    /// <summary>Keep the k = ⌊density·numel⌋ largest magnitudes of the whole tensor (TIES).</summary>
    Magnitude,

    /// <summary>Keep each entry independently with probability density (DARE).</summary>
    Random,

    /// <summary>Drop the gamma·numel largest magnitudes as outliers, then the smallest down to density (breadcrumbs).</summary>
    MagnitudeOutliers,

    /// <summary>Keep each entry with a probability that rises linearly with its magnitude rank in its row (DELLA).</summary>
    DellaMagprune,
}
