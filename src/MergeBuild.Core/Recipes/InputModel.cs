using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>One entry of a recipe's <c>models:</c> list: a model and its own (per-model) parameters.</summary>
public sealed record InputModel(ModelReference Model, ParameterMap Parameters, SourceLocation Location);
