using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// A model named by a recipe: a folder (or hub id) with an optional revision, an optional LoRA adapter to apply on
/// top, and an optional forced architecture. Written as <c>path</c>, <c>path@rev</c>, <c>path+lora</c> or the
/// dictionary form <c>{model: {path, revision}, lora: {path, revision}, override_architecture}</c>.
/// </summary>
public sealed record ModelReference(string Path, string? Revision, string? LoraPath, SourceLocation Location)
{
    /// <summary>The revision of the LoRA adapter (<c>path+lora@rev</c>), or null.</summary>
    public string? LoraRevision { get; init; }

    /// <summary>Forces <c>config.architectures</c> of this model (dictionary form only), or null.</summary>
    public string? OverrideArchitecture { get; init; }

    /// <summary>The reference as written in the recipe (canonical <c>path@rev+lora@rev</c> for the dictionary form), for messages.</summary>
    public string Text { get; init; } = Path;

    /// <summary>
    /// When this reference names an earlier document of the same multi-document recipe, that document's
    /// <c>name</c>; the model is then that document's output rather than a folder. Null otherwise.
    /// </summary>
    public string? IntermediateName { get; init; }

    /// <summary>Where the model lives on disk: <see cref="Path"/> if rooted, else combined with the recipe's directory.</summary>
    public string ResolvePath(string recipeDirectory)
    {
        ArgumentNullException.ThrowIfNull(recipeDirectory);
        return System.IO.Path.IsPathRooted(Path) ? Path : System.IO.Path.Combine(recipeDirectory, Path);
    }
}
