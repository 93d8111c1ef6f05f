namespace MergeBuild.Methods;

/// <summary>
/// <c>della_linear</c>: DELLA sparsification with L1 rescale (default on), then a weighted sum; normalize defaults to false.
/// </summary>
public sealed class DellaLinearMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "della_linear";

    /// <inheritdoc/>
    public override bool SignConsensus => false;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.DellaMagprune;
}
