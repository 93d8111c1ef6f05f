namespace MergeBuild.Methods;

/// <summary>
/// <c>breadcrumbs</c>: drops the largest (gamma) and smallest magnitudes of each task vector, then a weighted sum.
/// </summary>
public sealed class BreadcrumbsMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "breadcrumbs";

    /// <inheritdoc/>
    public override bool SignConsensus => false;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.MagnitudeOutliers;
}
