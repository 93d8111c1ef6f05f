using System.Globalization;
using System.Text;
using MergeBuild.Planning;
using MergeBuild.Tensors;

namespace MergeBuild.Execution;

/// <summary>
/// The output's <c>README.md</c>: which method merged which inputs (with every input file's content hash), the
/// seed, the dtypes and the recipe itself, so anyone can tell exactly what a checkpoint is and rebuild it.
/// It holds no timestamps or machine paths, so rebuilding gives the same bytes.
/// </summary>
internal static class ModelCard
{
    public const string FileName = "README.md";

    /// <summary>mergekit writes the recipe next to the weights under this name; tools look for it.</summary>
    public const string RecipeFileName = "mergekit_config.yml";

    public static string Render(MergePlan plan, MergeOptions options, InputSnapshot inputs)
    {
        var recipe = plan.Recipe;
        var spec = recipe.Method;
        var text = new StringBuilder();
        text.AppendLine("---");
        text.AppendLine("library_name: transformers");
        text.AppendLine("tags:");
        text.AppendLine("- merge");
        text.AppendLine("- mergekit");
        text.AppendLine("- mergebuild");
        text.AppendLine("---");
        // The title names the recipe, not the output folder: the same merge restored elsewhere has the same bytes.
        var title = plan.Recipe.Name ?? Path.GetFileNameWithoutExtension(plan.RecipeSet.FilePath);
        text.AppendLine(CultureInfo.InvariantCulture, $"# {title}");
        text.AppendLine();
        var paper = spec.PaperUrl is null ? "" : $" ([paper]({spec.PaperUrl}))";
        text.AppendLine(CultureInfo.InvariantCulture,
            $"This model was merged by MergeBuild {EngineInfo.Version} with the **{spec.PrettyName}** " +
            $"(`{spec.Name}`) method{paper}, from the recipe below.");
        text.AppendLine();
        text.AppendLine("## Inputs");
        text.AppendLine();
        text.AppendLine("| model | file | xxhash128 |");
        text.AppendLine("|---|---|---|");
        foreach (var model in plan.Models)
        {
            var role = model == plan.Donor ? " (config and tokenizer donor)" : "";
            foreach (var file in model.Folder.Weights.WeightFiles.Append(Path.Combine(model.Path, "config.json")))
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| `{model.Reference.Text}`{role} | `{Path.GetFileName(file)}` | `{inputs.HashOf(file)}` |");
            }
        }

        text.AppendLine();
        text.AppendLine("## Reproducing");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- engine: MergeBuild {EngineInfo.Version}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- method: `{spec.Name}`");
        text.AppendLine(CultureInfo.InvariantCulture, $"- random seed: {options.RandomSeed}");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"- dtype: {Describe(recipe.DType)}, out_dtype: {Describe(recipe.OutDType)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- tensors: {plan.Jobs.Count}, parameters: {plan.ParameterCount}");
        text.AppendLine();
        text.AppendLine("## Recipe");
        text.AppendLine();
        text.AppendLine("```yaml");
        text.AppendLine(plan.RecipeSet.Text.TrimEnd());
        text.AppendLine("```");
        return text.ToString();
    }

    private static string Describe(DType? dtype) => dtype is { } d ? DTypes.ToTorchName(d) : "(stored dtype)";
}
