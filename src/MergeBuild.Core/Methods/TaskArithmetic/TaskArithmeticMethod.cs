namespace MergeBuild.Methods;

/// <summary>
/// <c>task_arithmetic</c>: out = b + λ·Σ wᵢ(xᵢ − b) (divided by Σw with <c>normalize: true</c>; default false).
/// </summary>
public sealed class TaskArithmeticMethod : GeneralizedTaskArithmeticMethod
{
    /// <inheritdoc/>
    public override string Name => "task_arithmetic";

    /// <inheritdoc/>
    public override bool SignConsensus => false;

    /// <inheritdoc/>
    public override Sparsification Sparsification => Sparsification.None;
}
