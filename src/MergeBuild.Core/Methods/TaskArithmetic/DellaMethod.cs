namespace MergeBuild.Methods;

/// <summary>
/// <c>della</c>: rank-dependent random sparsification (DELLA) with L1 rescale, then TIES sign election; normalize and rescale default to true.
/// </summary>
public sealed class DellaMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "della";

    /// <inheritdoc/>
    public override bool SignConsensus => true;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.DellaMagprune;
}
