using MergeBuild.Diagnostics;
using MergeBuild.Recipes;

namespace MergeBuild.Planning;

/// <summary>A source of a slice with its layer range made explicit and its model opened.</summary>
internal sealed record NormalizedSource(PlannedModel Model, int LayerStart, int LayerEnd, ParameterMap Parameters,
    SourceLocation Location)
{
    public int Length => LayerEnd - LayerStart;
}

/// <summary>
/// An output slice in mergekit's normal form: a <c>models:</c> recipe is one slice spanning every layer of every
/// model, with the base model appended last when it is not listed.
/// </summary>
internal sealed record NormalizedSlice(IReadOnlyList<NormalizedSource> Sources, PlannedModel? Base,
    ParameterMap Parameters, SourceLocation Location)
{
    public int Length => Sources.Count == 0 ? 0 : Sources[0].Length;
}
