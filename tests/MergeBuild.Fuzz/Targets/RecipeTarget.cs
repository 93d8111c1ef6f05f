using MergeBuild.Fingerprints;
using MergeBuild.Recipes;

namespace MergeBuild.Fuzzing.Targets;

/// <summary>
/// Recipe YAML through <see cref="RecipeParser.Parse"/> and, when it parses, <see cref="CanonicalRecipe.Of"/> (the
/// fingerprint's view of the same text).
/// </summary>
public sealed class RecipeTarget : IFuzzTarget
{
    public string Name => "recipe";

    public IReadOnlyList<string> Dictionary { get; } =
    [
        "merge_method: ", "linear", "ties", "dare_ties", "slerp", "passthrough", "task_arithmetic", "della", "model_stock",
        "\nmodels:\n", "\n  - model: ", "\n    parameters:\n", "      weight: ", "density: ", "t: ", "base_model: ",
        "\nslices:\n", "  - sources:\n", "      layer_range: [0, 2]\n", "dtype: ", "out_dtype: ", "tokenizer_source: ",
        "tokenizer:\n", "gates:\n", "name: ", "filter: ", "value: ", "[0, 0.5, 1]", "&a ", "*a", "<<: *a", "!!python/object:os.system ",
        "!tag ", "|\n", ">\n", "? ", "---\n", "...\n", "{", "}", "[", "]", "#", "\"\\u0000\"", "'", "\t", "../../../etc",
        "/tmp/x", "~", "null", ".inf", ".nan", "0x1F", "1e400", "\ufeff", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n",
    ];

    public IEnumerable<byte[]> Seeds()
    {
        var recipes = Directory.GetFiles(RepoFiles.Path("examples"), "*.yml", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal);
        foreach (var file in recipes)
        {
            yield return File.ReadAllBytes(file);
        }
    }

    public string Run(byte[] input)
    {
        var text = FuzzRun.Text(input);
        var set = RecipeParser.Parse(text, Path.Combine(Path.GetTempPath(), "fuzz", "recipe.yml"));
        _ = CanonicalRecipe.Of(text);
        return string.Join(';', set.Documents.Select(r => $"{r.MergeMethod}{r.Name is null}"));
    }

    public void Dispose()
    {
    }
}
