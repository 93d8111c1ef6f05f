namespace MergeBuild.Planning;

/// <summary>Options that change how a recipe is planned.</summary>
public sealed record PlanOptions
{
    /// <summary>mergekit's <c>--allow-crimes</c>: merge models whose architectures differ.</summary>
    public bool AllowCrimes { get; init; }
}
