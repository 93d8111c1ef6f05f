using System.Collections.Frozen;

namespace MergeBuild.Recipes;

/// <summary>
/// Every merge method mergekit 0.1.4 registers, with mergekit's parameter names, scopes and defaults
/// (see <c>shared/research/mergekit.md</c> §1.1). Ranges are MergeBuild's own: mergekit checks none, but values outside
/// them either crash mergekit later or make no sense (a density of 1.5).
/// </summary>
public static class MergeMethodCatalog
{
    private static readonly FrozenDictionary<string, MergeMethodSpec> ByName;

    static MergeMethodCatalog()
    {
        All = Build();
        ByName = All.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>All methods, in mergekit's documentation order.</summary>
    public static IReadOnlyList<MergeMethodSpec> All { get; }

    /// <summary>Looks a method up by its exact <c>merge_method</c> name.</summary>
    public static bool TryGet(string name, out MergeMethodSpec spec)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (ByName.TryGetValue(name, out var found))
        {
            spec = found;
            return true;
        }

        spec = null!;
        return false;
    }

    private static MergeMethodSpec[] Build()
    {
        // Shared by the generalized task arithmetic family; only the normalize/rescale defaults differ.
        ParameterSpec[] Gta(bool normalize, bool rescale, params ParameterSpec[] extra) =>
        [
            Weight(),
            Density(),
            .. extra,
            Flag("normalize", normalize, "Divide by the sum of the weights (of the agreeing models, with sign consensus)."),
            Flag("rescale", rescale, "Rescale the sparsified task vector to its original L1 norm."),
            Real("lambda", 1.0, "Scale applied to the merged task vector after normalisation."),
            Flag("int8_mask", false, "Store masks as int8 to save memory; results are identical."),
        ];

        const string Dare = "https://arxiv.org/abs/2311.03099";
        const string Della = "https://arxiv.org/abs/2406.11617";
        const string Breadcrumbs = "https://arxiv.org/abs/2312.06795";
        return
        [
            new("linear", "Linear", BaseModelUse.NotUsed, 1, null,
                [Weight(), Flag("normalize", true, "Divide by the sum of the weights.")], "https://arxiv.org/abs/2203.05482"),
            new("task_arithmetic", "Task Arithmetic", BaseModelUse.Required, 1, null, Gta(false, false), "https://arxiv.org/abs/2212.04089"),
            new("ties", "TIES", BaseModelUse.Required, 1, null, Gta(true, false), "https://arxiv.org/abs/2306.01708"),
            new("dare_ties", "DARE TIES", BaseModelUse.Required, 1, null, Gta(false, true), Dare),
            new("dare_linear", "Linear DARE", BaseModelUse.Required, 1, null, Gta(false, true), Dare),
            new("breadcrumbs", "Model Breadcrumbs", BaseModelUse.Required, 1, null, Gta(false, false, Gamma()), Breadcrumbs),
            new("breadcrumbs_ties", "Model Breadcrumbs with TIES", BaseModelUse.Required, 1, null, Gta(false, false, Gamma()), Breadcrumbs),
            new("della", "DELLA", BaseModelUse.Required, 1, null, Gta(true, true, DellaEpsilon()), Della),
            new("della_linear", "Linear DELLA", BaseModelUse.Required, 1, null, Gta(false, true, DellaEpsilon()), Della),
            new("sce", "SCE", BaseModelUse.Required, 1, null,
            [
                new("select_topk", ParameterScope.Global, 1.0, false, 0, 1, false, false,
                    "Fraction of the highest-variance entries kept.") { MinExclusive = true },
                Flag("int8_mask", false, "Store masks as int8 to save memory; results are identical."),
            ], "https://arxiv.org/abs/2408.07990"),
            new("ram", "Reinforced Agent Merging", BaseModelUse.Required, 1, null,
                [NonNegative("epsilon", 1e-5, "Magnitude under which a task-vector entry counts as zero.")], null),
            new("ramplus_tl", "Reinforced Agent Merging Plus (tensor-local)", BaseModelUse.Required, 1, null,
            [
                NonNegative("r", 0.1, "Strength of the boost for models with many shared entries."),
                NonNegative("alpha", 0.2, "Upper clamp of the shared/unique ratio."),
                NonNegative("epsilon", 1e-5, "Magnitude under which a task-vector entry counts as zero."),
            ], null),
            new("slerp", "SLERP", BaseModelUse.Required, 1, 1,
                [new("t", ParameterScope.Global, null, true, 0, 1, false, false, "Interpolation factor: 0 = base model, 1 = the other model.")],
                "https://en.wikipedia.org/wiki/Slerp"),
            new("nuslerp", "NuSLERP", BaseModelUse.Optional, 2, 2,
            [
                Weight(),
                Flag("nuslerp_flatten", true, "Treat each tensor as one flat vector."),
                Flag("nuslerp_row_wise", false, "Without flattening, interpolate the slices along dim 0 instead of the last dim."),
            ], null),
            new("multislerp", "Multi-SLERP", BaseModelUse.Optional, 1, null,
            [
                Weight(),
                Flag("normalize_weights", true, "Divide the weights by their sum."),
                NonNegative("eps", 1e-8, "Small constant guarding divisions."),
            ], null),
            // karcher has no base of its own: mergekit averages a base_model in as one more model (appended last when
            // it is not listed), so it is NotUsed here and the planner keeps it among the inputs, in recipe order.
            new("karcher", "Karcher Mean", BaseModelUse.NotUsed, 2, null,
            [
                new("max_iter", ParameterScope.Global, 10, false, 1, null, false, true, "Most iterations of the Riemannian mean."),
                NonNegative("tol", 1e-5, "Convergence tolerance."),
            ], "https://en.wikipedia.org/wiki/Karcher_mean"),
            new("model_stock", "Model Stock", BaseModelUse.Required, 2, null,
                [Flag("filter_wise", false, "Compute the interpolation factor per row instead of per tensor.")], "https://arxiv.org/abs/2403.19522"),
            new("nearswap", "NearSwap", BaseModelUse.Required, 1, 1,
                [new("t", ParameterScope.Global, null, true, 0, null, false, false, "Similarity threshold: entries closer than t take the other model's value.")],
                null),
            new("arcee_fusion", "Arcee Fusion", BaseModelUse.Required, 1, 1, [], null),
            new("passthrough", "Passthrough", BaseModelUse.NotUsed, 1, 1,
                [new("scale", ParameterScope.PerModel, null, false, null, null, false, false, "Multiply the copied tensor by this factor.")], null),
        ];
    }

    private static ParameterSpec Weight() =>
        new("weight", ParameterScope.PerModel, null, true, null, null, false, false, "The model's weight in the merge (any real number).");

    private static ParameterSpec Density() =>
        new("density", ParameterScope.PerModel, 1.0, false, 0, 1, false, false, "Fraction of the task vector kept by sparsification.");

    private static ParameterSpec Gamma() =>
        new("gamma", ParameterScope.PerModel, 0.01, false, 0, 1, false, false, "Fraction of the largest-magnitude entries removed as outliers.");

    private static ParameterSpec DellaEpsilon() =>
        new("epsilon", ParameterScope.PerModel, 0.15, false, 0, 1, false, false, "Half-width of DELLA's keep-probability ramp around the density.");

    private static ParameterSpec Flag(string name, bool defaultValue, string description) =>
        new(name, ParameterScope.Global, defaultValue ? 1 : 0, false, 0, 1, true, false, description);

    private static ParameterSpec Real(string name, double defaultValue, string description) =>
        new(name, ParameterScope.Global, defaultValue, false, null, null, false, false, description);

    private static ParameterSpec NonNegative(string name, double defaultValue, string description) =>
        new(name, ParameterScope.Global, defaultValue, false, 0, null, false, false, description);
}
