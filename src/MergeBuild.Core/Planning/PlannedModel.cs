using MergeBuild.Models;
using MergeBuild.Recipes;

namespace MergeBuild.Planning;

/// <summary>One distinct model folder a recipe reads, in the order the recipe first names it.</summary>
public sealed class PlannedModel
{
    internal PlannedModel(int index, ModelReference reference, ModelFolder folder)
    {
        Index = index;
        Reference = reference;
        Folder = folder;
    }

    /// <summary>Position in <see cref="MergePlan.Models"/>; also the model's index for seeded randomness.</summary>
    public int Index { get; }

    /// <summary>The first reference to this model in the recipe (for messages).</summary>
    public ModelReference Reference { get; }

    public ModelFolder Folder { get; }

    /// <summary>The model's folder, fully resolved.</summary>
    public string Path => Folder.Path;

    public override string ToString() => Reference.Text;
}
