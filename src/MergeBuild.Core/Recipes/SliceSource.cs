using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// One source of an output slice: a model, the layers taken from it, and its own (per-model) parameters.
/// <see cref="LayerRange"/> is always set for sources the parser reads; it is nullable so that the planner can
/// express <c>models:</c> recipes (whole model, layer count known only from the checkpoint) with the same type.
/// </summary>
public sealed record SliceSource(ModelReference Model, LayerRange? LayerRange, ParameterMap Parameters, SourceLocation Location);
