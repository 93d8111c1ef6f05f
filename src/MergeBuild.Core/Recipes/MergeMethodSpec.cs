namespace MergeBuild.Recipes;

/// <summary>Where a parameter is read from: global ones only from slice/top-level <c>parameters</c>, per-model ones from a model's own first.</summary>
public enum ParameterScope
{
    Global,
    PerModel,
}

/// <summary>Whether a merge method needs <c>base_model</c>.</summary>
public enum BaseModelUse
{
    Required,
    Optional,
    NotUsed,
}

/// <summary>
/// One parameter a merge method reads: its scope, default (null = none), whether a value is required, and the range a
/// static value must lie in (<see cref="Min"/>/<see cref="Max"/> inclusive unless <see cref="MinExclusive"/>).
/// Booleans are numbers 0/1 as in mergekit.
/// </summary>
public sealed record ParameterSpec(string Name, ParameterScope Scope, double? Default, bool Required, double? Min, double? Max, bool IsBoolean, bool IsInteger, string Description)
{
    /// <summary>True when <see cref="Min"/> itself is not allowed (e.g. sce's <c>select_topk</c> must be above 0).</summary>
    public bool MinExclusive { get; init; }

    /// <summary>Whether <paramref name="value"/> lies in the allowed range.</summary>
    public bool IsInRange(double value) =>
        double.IsFinite(value)
        && (Min is not { } min || (MinExclusive ? value > min : value >= min))
        && (Max is not { } max || value <= max);

    /// <summary>The allowed range in words, for messages ("in [0, 1]", "at least 0", "above 0"…); empty when unbounded.</summary>
    public string RangeText => (Min, Max) switch
    {
        ({ } min, { } max) => FormattableString.Invariant($"in {(MinExclusive ? "(" : "[")}{min}, {max}]"),
        ({ } min, null) => MinExclusive ? FormattableString.Invariant($"above {min}") : FormattableString.Invariant($"at least {min}"),
        (null, { } max) => FormattableString.Invariant($"at most {max}"),
        _ => "",
    };
}

/// <summary>
/// What a merge method accepts: whether it uses a base model, how many other models (<see cref="MinModels"/> and
/// <see cref="MaxModels"/> count the non-base models; null = no upper bound) and its parameters.
/// </summary>
public sealed record MergeMethodSpec(string Name, string PrettyName, BaseModelUse BaseModel, int MinModels, int? MaxModels, IReadOnlyList<ParameterSpec> Parameters, string? PaperUrl)
{
    /// <summary>The parameter called <paramref name="name"/> (exact), or null.</summary>
    public ParameterSpec? FindParameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);
}
