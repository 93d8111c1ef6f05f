using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// A parameter's value as written in a recipe: a scalar, a gradient over the layers, or a list of filtered values.
/// Evaluate it per tensor with <see cref="ParameterEvaluation.Evaluate"/>.
/// </summary>
public abstract record ParameterSetting(SourceLocation Location);

/// <summary>A single value. Numbers and booleans (true = 1, false = 0) set <see cref="Number"/>; strings set <see cref="Text"/>.</summary>
public sealed record ScalarSetting(double? Number, string? Text, SourceLocation Location) : ParameterSetting(Location);

/// <summary>A list of numbers interpolated by the layer position <c>t</c> (see <see cref="ParameterEvaluation.InterpolateGradient"/>).</summary>
public sealed record GradientSetting(IReadOnlyList<double> Values, SourceLocation Location) : ParameterSetting(Location)
{
    /// <summary>Where each value was written, parallel to <see cref="Values"/> (empty when built in code).</summary>
    public IReadOnlyList<SourceLocation> ValueLocations { get; init; } = [];
}

/// <summary>A list of <c>{filter, value}</c> entries; the first whose filter matches the tensor name wins.</summary>
public sealed record ConditionalSetting(IReadOnlyList<ConditionalEntry> Entries, SourceLocation Location) : ParameterSetting(Location);

/// <summary>
/// One entry of a conditional list. A null or <c>"*"</c> <see cref="Filter"/> matches every tensor, any other is a plain
/// substring of the tensor name. <see cref="Value"/> is a <see cref="ScalarSetting"/> or a <see cref="GradientSetting"/>.
/// </summary>
public sealed record ConditionalEntry(string? Filter, ParameterSetting Value, SourceLocation Location);
