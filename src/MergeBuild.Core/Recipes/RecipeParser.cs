using MergeBuild.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes;

/// <summary>
/// Reads mergekit YAML recipes (single or multi-document) into a <see cref="RecipeSet"/>, checking the schema, the
/// merge method, parameter names and static parameter ranges. Every problem is a <see cref="MergeBuildException"/>
/// at the recipe's line and column. Models are not opened here; validation against checkpoints comes later.
/// </summary>
public static class RecipeParser
{
    /// <summary>Reads and parses a recipe file; a missing or unreadable file is MB2001.</summary>
    public static RecipeSet ParseFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new MergeBuildException(ErrorCodes.RecipeNotFound, $"recipe file '{path}' does not exist.", new SourceLocation(path),
                Directory.Exists(path) ? "That path is a folder; pass the recipe's .yml file." : "Check the path (relative paths start at the current folder).");
        }

        if (new FileInfo(path).Length > YamlLimits.MaxRecipeBytes)
        {
            throw new MergeBuildException(ErrorCodes.InvalidValue,
                $"recipe file '{path}' is larger than {YamlLimits.MaxRecipeBytes:N0} bytes.", new SourceLocation(path),
                "A recipe is a few hundred lines of YAML; check that the right file is named.");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MergeBuildException(ErrorCodes.RecipeNotFound, $"recipe file '{path}' cannot be read: {ex.Message}", new SourceLocation(path),
                innerException: ex);
        }

        return Parse(text, path);
    }

    /// <summary>
    /// Parses recipe text. <paramref name="filePath"/> names the file in every <c>SourceLocation</c> and is the base
    /// for relative model paths (<see cref="RecipeSet.BaseDirectory"/>).
    /// </summary>
    public static RecipeSet Parse(string yamlText, string filePath)
    {
        ArgumentNullException.ThrowIfNull(yamlText);
        ArgumentNullException.ThrowIfNull(filePath);
        var nodes = new RecipeNodes(filePath);

        // An empty document (a stray `---` at the end, say) says nothing; skipping it is what a reader expects.
        var roots = Load(yamlText, nodes).Select(d => d.RootNode).Where(root => !RecipeNodes.IsNull(root)).ToList();
        if (roots.Count == 0)
        {
            throw new MergeBuildException(ErrorCodes.MissingKey, "the recipe is empty.", new SourceLocation(filePath, 1, 1),
                "A recipe needs at least `merge_method:` and `models:` (or `slices:`).");
        }

        var recipes = new List<Recipe>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < roots.Count; i++)
        {
            // Names seen so far are what this document may refer to: mergekit-multi's intermediate outputs.
            var recipe = new RecipeDocumentParser(nodes, names).Parse(roots[i]);
            CheckName(recipe, i, roots.Count, names);
            recipes.Add(recipe);
        }

        return new RecipeSet(filePath, yamlText, recipes);
    }

    private static List<YamlDocument> Load(string yamlText, RecipeNodes nodes)
    {
        var parser = new TrackingParser(new Parser(new StringReader(yamlText)));
        try
        {
            FlowNestingScan.Check(yamlText);
            var stream = new YamlStream();
            stream.Load(parser);
            return [.. stream.Documents];
        }
        catch (YamlException ex)
        {
            throw new MergeBuildException(ErrorCodes.RecipeSyntax, $"invalid YAML: {ex.Message}", nodes.At(ex.Start),
                SyntaxHint, ex);
        }
        catch (ArgumentException ex)
        {
            // YamlDotNet's node loader rejects some event sequences its parser lets through (found by fuzzing)
            // with a bare ArgumentException; it has no position of its own, so point at the last good event.
            throw new MergeBuildException(ErrorCodes.RecipeSyntax, $"invalid YAML: {ex.Message}", nodes.At(parser.LastGood),
                SyntaxHint, ex);
        }
    }

    private static bool IsSafeFolderName(string name) =>
        name.Length is > 0 and <= 200 && name is not "." and not ".." &&
        !name.Any(c => c is '/' or '\\' or ':' || char.IsControl(c)) && name.Trim() == name;

    private const string SyntaxHint = "Check indentation (spaces, not tabs), quotes and brackets around this position.";

    private static void CheckName(Recipe recipe, int index, int count, HashSet<string> names)
    {
        if (recipe.Name is null)
        {
            if (index < count - 1)
            {
                throw new MergeBuildException(ErrorCodes.MissingKey,
                    $"recipe document {index + 1} of {count} has no 'name', so no later document can use its output.", recipe.Location,
                    "Give every document but the last a `name:` and refer to it by that name in a later document's models.");
            }

            return;
        }

        // A name becomes a folder under the intermediate directory: it must not climb out of it or be absolute.
        if (!IsSafeFolderName(recipe.Name))
        {
            throw new MergeBuildException(ErrorCodes.InvalidValue,
                $"recipe name '{recipe.Name}' cannot be a folder name: it must not be empty, '.', '..', or contain '/', '\\' or control characters.",
                recipe.NameLocation ?? recipe.Location,
                "Use a plain name such as `stage1`; the intermediate output is written to a folder of that name.");
        }

        if (!names.Add(recipe.Name))
        {
            throw new MergeBuildException(ErrorCodes.InvalidValue, $"recipe name '{recipe.Name}' is used by an earlier document.",
                recipe.NameLocation ?? recipe.Location, "Document names must be unique.");
        }
    }
}
