using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Execution;

/// <summary>
/// Merges a whole recipe file: each document of a multi-document (mergekit-multi) recipe in order, earlier named
/// documents into intermediate folders that later documents reference by name, the last one into the output.
/// A single-document recipe is the one-step case.
/// </summary>
public static class RecipeMerge
{
    /// <summary>Reports each finished document (name and output folder) before the next starts.</summary>
    public delegate void DocumentDone(Recipe document, MergeResult result);

    /// <param name="intermediateDirectory">
    /// Where named intermediate outputs go and stay (mergekit-multi's <c>--intermediate-dir</c>). When null they go to
    /// a hidden folder beside the output, deleted once the final output is in place.
    /// </param>
    public static MergeResult Execute(RecipeSet recipes, string outputFolder, MergeOptions? options = null,
        PlanOptions? planOptions = null, string? intermediateDirectory = null, IProgress<MergeProgress>? progress = null,
        DocumentDone? documentDone = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        var intermediates = new Dictionary<string, string>(StringComparer.Ordinal);
        var temporary = intermediateDirectory is null && recipes.Documents.Count > 1
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputFolder))!,
                $".{Path.GetFileName(Path.GetFullPath(outputFolder))}.mergebuild-intermediate-{Guid.NewGuid():N}")
            : null;
        var intermediateRoot = intermediateDirectory ?? temporary;
        try
        {
            foreach (var document in recipes.Documents.Take(recipes.Documents.Count - 1))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var plan = MergePlanner.PlanDocument(recipes, document, planOptions, intermediates);
                var folder = Path.Combine(intermediateRoot!, document.Name!);
                // The build's fingerprint belongs to the final output only; the next document reads this output at
                // once, so it is written through the page cache.
                var result = MergeExecutor.Execute(plan, folder,
                    (options ?? new MergeOptions()) with { Fingerprint = null, WriteAroundPageCache = false },
                    progress, cancellationToken);
                intermediates[document.Name!] = result.OutputFolder;
                documentDone?.Invoke(document, result);
            }

            var finalPlan = MergePlanner.PlanDocument(recipes, recipes.Final, planOptions, intermediates);
            var final = MergeExecutor.Execute(finalPlan, outputFolder, options, progress, cancellationToken);
            documentDone?.Invoke(recipes.Final, final);
            return final;
        }
        finally
        {
            if (temporary is not null && Directory.Exists(temporary))
            {
                Directory.Delete(temporary, recursive: true);
            }
        }
    }
}
