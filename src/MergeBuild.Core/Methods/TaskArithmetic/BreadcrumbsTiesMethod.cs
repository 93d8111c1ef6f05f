namespace MergeBuild.Methods;

/// <summary>
/// <c>breadcrumbs_ties</c>: breadcrumbs sparsification followed by TIES sign election.
/// </summary>
public sealed class BreadcrumbsTiesMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "breadcrumbs_ties";

    /// <inheritdoc/>
    public override bool SignConsensus => true;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.MagnitudeOutliers;
}
