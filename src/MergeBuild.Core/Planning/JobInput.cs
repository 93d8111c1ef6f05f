using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;

namespace MergeBuild.Planning;

/// <summary>One model's tensor feeding an output tensor, with that model's resolved per-model parameters.</summary>
/// <param name="Model">The model it comes from.</param>
/// <param name="Tensor">The input tensor (its own name: the source's layer index, or a tied substitute).</param>
/// <param name="Parameters">Per-model parameters (<c>weight</c>, <c>density</c>…) evaluated for this tensor.</param>
/// <param name="Location">Where the recipe names this source.</param>
public sealed record JobInput(
    PlannedModel Model,
    TensorInfo Tensor,
    IReadOnlyDictionary<string, double> Parameters,
    SourceLocation Location)
{
    /// <summary>A per-model parameter's value; the planner has already applied defaults and required checks.</summary>
    public double Parameter(string name) => Parameters[name];

    /// <summary>A per-model parameter's value, or null when the method's spec gives it no default and none was set.</summary>
    public double? OptionalParameter(string name) => Parameters.TryGetValue(name, out var v) ? v : null;
}
