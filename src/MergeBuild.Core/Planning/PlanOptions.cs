namespace MergeBuild.Planning;

/// <summary>Options that change how a recipe is planned.</summary>
public sealed record PlanOptions
{
    /// <summary>mergekit's <c>--allow-crimes</c>: merge models whose architectures differ.</summary>
    public bool AllowCrimes { get; init; }

    /// <summary>
    /// Cut embedding matrices of different vocabulary sizes to a common number of rows, as mergekit does silently
    /// (the common prefix for linear, slerp, nuslerp, model_stock and arcee_fusion; the base model's rows for the
    /// task-arithmetic family). Off by default: rows past the shorter vocabulary are then different tokens.
    /// </summary>
    public bool TruncateEmbeddings { get; init; }

    /// <summary>Where <c>model+lora</c> references are merged to (content-addressed; mergekit's --lora-merge-cache).</summary>
    public string? LoraCacheDirectory { get; init; }
}
