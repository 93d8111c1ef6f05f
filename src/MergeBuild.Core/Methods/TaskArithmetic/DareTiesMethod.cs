namespace MergeBuild.Methods;

/// <summary>
/// <c>dare_ties</c>: random (DARE) sparsification with L1 rescale (default on), then TIES sign election; normalize defaults to false.
/// </summary>
public sealed class DareTiesMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "dare_ties";

    /// <inheritdoc/>
    public override bool SignConsensus => true;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.Random;
}
