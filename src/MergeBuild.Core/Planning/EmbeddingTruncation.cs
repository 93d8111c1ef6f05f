namespace MergeBuild.Planning;

/// <summary>
/// mergekit's rules for embedding matrices whose vocabularies differ in size, used only when the user opts in
/// (<see cref="PlanOptions.TruncateEmbeddings"/>). Rows are token ids, so keeping the first n rows keeps tokens
/// 0..n−1 of every model; the hidden size must agree.
/// </summary>
internal static class EmbeddingTruncation
{
    private static readonly HashSet<string> CommonPrefixMethods =
        new(["linear", "slerp", "nuslerp", "model_stock", "arcee_fusion"], StringComparer.Ordinal);

    private static readonly HashSet<string> BaseShapeMethods = new(
    [
        "task_arithmetic", "ties", "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear",
    ], StringComparer.Ordinal);

    /// <summary>The shape every input is cut to, or false when the method has no such rule or cutting cannot work.</summary>
    public static bool TryShape(string method, List<JobInput> inputs, JobInput? baseInput, out long[] shape)
    {
        var all = baseInput is null ? inputs : [baseInput, .. inputs];
        shape = [];
        if (all.Any(i => i.Tensor.Shape.Length != 2 || i.Tensor.Shape[1] != all[0].Tensor.Shape[1]))
        {
            return false;
        }

        if (CommonPrefixMethods.Contains(method))
        {
            // linear, slerp, …: the largest common top-left submatrix of all inputs.
            shape = [all.Min(i => i.Tensor.Shape[0]), all[0].Tensor.Shape[1]];
            return true;
        }

        if (BaseShapeMethods.Contains(method) && baseInput is not null &&
            inputs.All(i => i.Tensor.Shape[0] >= baseInput.Tensor.Shape[0]))
        {
            // Task-vector methods: every model is cut to the base model's rows.
            shape = [baseInput.Tensor.Shape[0], baseInput.Tensor.Shape[1]];
            return true;
        }

        return false;
    }
}
