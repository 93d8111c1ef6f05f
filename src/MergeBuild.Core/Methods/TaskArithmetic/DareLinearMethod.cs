namespace MergeBuild.Methods;

/// <summary>
/// <c>dare_linear</c>: random (DARE) sparsification with L1 rescale (default on), then a weighted sum; normalize defaults to false.
/// </summary>
public sealed class DareLinearMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "dare_linear";

    /// <inheritdoc/>
    public override bool SignConsensus => false;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.Random;
}
