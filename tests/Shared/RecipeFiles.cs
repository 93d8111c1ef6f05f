namespace MergeBuild.Tests;

/// <summary>Writes recipes into a temporary folder, with fixture model paths filled in.</summary>
public static class RecipeFiles
{
    /// <summary>The smallest real merge: shipping and refunds averaged with equal weights (no base).</summary>
    public const string TwoModelLinear = """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/refunds
            parameters: {weight: 1.0}
        """;

    /// <summary>
    /// examples/recipes/specialists-linear.yml: the three specialists averaged in float32 and stored as bf16, whose
    /// reference output is fixtures/expected/merges/linear.
    /// </summary>
    public const string SpecialistsLinear = """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/refunds
            parameters: {weight: 1.0}
          - model: {models}/catalog
            parameters: {weight: 1.0}
        dtype: float32
        out_dtype: bfloat16
        """;

    /// <summary>
    /// Writes <paramref name="yaml"/> to <c>name</c> in <paramref name="folder"/>, replacing <c>{models}</c> with the
    /// absolute path of the fixture models folder (YAML-quoted paths are unnecessary: fixture paths have no spaces).
    /// </summary>
    public static string Write(TempFolder folder, string yaml, string name = "recipe.yml")
    {
        var path = folder.Combine(name);
        var modelsRoot = Path.Combine(Fixtures.Root, "models").Replace('\\', '/');
        File.WriteAllText(path, yaml.Replace("{models}", modelsRoot, StringComparison.Ordinal));
        return path;
    }
}
