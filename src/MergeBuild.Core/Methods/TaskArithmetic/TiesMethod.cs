namespace MergeBuild.Methods;

/// <summary>
/// <c>ties</c>: top-k magnitude sparsification per model, then TIES sign election; normalize (default true) divides each entry by the weights of the agreeing models.
/// </summary>
public sealed class TiesMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "ties";

    /// <inheritdoc/>
    public override bool SignConsensus => true;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.Magnitude;
}
