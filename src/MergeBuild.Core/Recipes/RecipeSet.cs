namespace MergeBuild.Recipes;

/// <summary>
/// A parsed recipe file: one document, or several separated by <c>---</c> (mergekit-multi). Document names are
/// unique and every document but the last has one; a later document may use an earlier one's name as a model
/// reference (<see cref="ModelReference.IntermediateName"/>). The last document is the final output.
/// </summary>
public sealed class RecipeSet
{
    internal RecipeSet(string filePath, string text, IReadOnlyList<Recipe> documents)
    {
        FilePath = filePath;
        Text = text;
        Documents = documents;
        var directory = Path.GetDirectoryName(Path.GetFullPath(filePath));
        BaseDirectory = string.IsNullOrEmpty(directory) ? Directory.GetCurrentDirectory() : directory;
    }

    /// <summary>The recipe's path as given to the parser (used in every <c>SourceLocation</c>).</summary>
    public string FilePath { get; }

    /// <summary>The recipe's full text.</summary>
    public string Text { get; }

    public IReadOnlyList<Recipe> Documents { get; }

    /// <summary>The last document: the merge whose output is the result.</summary>
    public Recipe Final => Documents[^1];

    /// <summary>The folder relative model paths are resolved against (the recipe file's folder).</summary>
    public string BaseDirectory { get; }

    /// <summary>The document called <paramref name="name"/>, or null.</summary>
    public Recipe? FindByName(string name) => Documents.FirstOrDefault(d => d.Name == name);
}
