using MergeBuild.Methods;
using MergeBuild.Recipes;
using MergeBuild.Tokenizers;

namespace MergeBuild.Planning;

/// <summary>What the job builder needs from the planner: the recipe, its method and its normalized slices.</summary>
internal sealed class PlanningContext(Recipe recipe, IMergeMethod method, IReadOnlyList<NormalizedSlice> slices)
{
    public Recipe Recipe { get; } = recipe;

    public MergeMethodSpec Spec => Recipe.Method;

    public IMergeMethod Method { get; } = method;

    public IReadOnlyList<NormalizedSlice> Slices { get; } = slices;

    public List<string> Warnings { get; } = [];

    /// <summary>The output vocabulary when the recipe sets a tokenizer policy, else null.</summary>
    public OutputVocabulary? Vocabulary { get; init; }

    /// <summary>True when the method separates a base model from the models it combines.</summary>
    public bool UsesBase => Spec.BaseModel != BaseModelUse.NotUsed;
}
