namespace MergeBuild.Benchmarks;

/// <summary>One recipe per merge method over the synthetic models (base, model1 … modelN).</summary>
public static class BenchmarkRecipes
{
    /// <summary>Names a variant of DARE without mergekit's default L1 rescale: one pass instead of two.</summary>
    public const string WithoutRescale = "_norescale";

    /// <summary>
    /// The method names in benchmark order, fastest kinds first; a name ending in <see cref="WithoutRescale"/> is that
    /// method with <c>rescale: false</c>.
    /// </summary>
    public static readonly IReadOnlyList<string> Methods =
    [
        "passthrough", "linear", "task_arithmetic", "dare_linear", "dare_ties", "dare_linear" + WithoutRescale,
        "dare_ties" + WithoutRescale, "ties", "breadcrumbs", "breadcrumbs_ties",
        "della", "della_linear", "sce", "ram", "ramplus_tl", "slerp", "nuslerp", "multislerp", "karcher", "model_stock",
        "nearswap", "arcee_fusion",
    ];

    /// <summary>The recipe YAML for <paramref name="method"/>, models referenced by absolute folder.</summary>
    public static string For(string method, IReadOnlyList<string> folders, string dtype)
    {
        var rescale = !method.EndsWith(WithoutRescale, StringComparison.Ordinal);
        method = rescale ? method : method[..^WithoutRescale.Length];
        var baseModel = Quote(folders[0]);
        var models = folders.Skip(1).ToList();
        string List(IEnumerable<string> paths, string parameters = "") =>
            string.Concat(paths.Select(p => $"\n  - model: {Quote(p)}" + (parameters.Length > 0 ? $"\n    parameters: {{{parameters}}}" : "")));
        var body = method switch
        {
            "passthrough" => $"models:{List(models.Take(1))}",
            "linear" => $"models:{List(models, "weight: 1.0")}",
            "task_arithmetic" => $"base_model: {baseModel}\nmodels:{List(models, "weight: 0.5")}",
            "ties" => $"base_model: {baseModel}\nparameters: {{density: 0.5, weight: 1.0}}\nmodels:{List(models)}",
            "dare_ties" or "dare_linear" =>
                $"base_model: {baseModel}\nparameters: {{density: 0.5, weight: 1.0{(rescale ? "" : ", rescale: false")}}}\nmodels:{List(models)}",
            "breadcrumbs" or "breadcrumbs_ties" => $"base_model: {baseModel}\nparameters: {{density: 0.9, gamma: 0.01, weight: 1.0}}\nmodels:{List(models)}",
            "della" or "della_linear" => $"base_model: {baseModel}\nparameters: {{density: 0.5, epsilon: 0.1, weight: 1.0}}\nmodels:{List(models)}",
            "sce" => $"base_model: {baseModel}\nparameters: {{select_topk: 0.5}}\nmodels:{List(models)}",
            "ram" or "ramplus_tl" or "model_stock" => $"base_model: {baseModel}\nmodels:{List(models)}",
            "karcher" => $"models:{List(models)}",
            "slerp" => $"base_model: {baseModel}\nparameters: {{t: 0.5}}\nmodels:{List(folders.Take(2))}",
            "nuslerp" => $"models:{List(models.Take(2), "weight: 1.0")}",
            "multislerp" => $"models:{List(models, "weight: 1.0")}",
            "nearswap" => $"base_model: {baseModel}\nparameters: {{t: 0.001}}\nmodels:{List(models.Take(1))}",
            "arcee_fusion" => $"base_model: {baseModel}\nmodels:{List(models.Take(1))}",
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "no benchmark recipe"),
        };
        if (!rescale && method is not ("dare_ties" or "dare_linear"))
        {
            throw new ArgumentOutOfRangeException(nameof(method), method + WithoutRescale, "no benchmark recipe");
        }

        return $"merge_method: {method}\n{body}\ndtype: {dtype}\n";
    }

    private static string Quote(string path) => "\"" + path.Replace("\\", "/", StringComparison.Ordinal) + "\"";
}
