using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// One entry of a recipe's <c>slices:</c> list: a run of output layers merged from the same layer span of each source.
/// Its <see cref="BaseModel"/>, when set, overrides the recipe's for this slice.
/// </summary>
public sealed record OutputSlice(IReadOnlyList<SliceSource> Sources, ModelReference? BaseModel, ParameterMap Parameters, SourceLocation Location)
{
    /// <summary>mergekit's <c>residual_weight</c>: parsed for compatibility, unused by every merge method.</summary>
    public double? ResidualWeight { get; init; }
}
