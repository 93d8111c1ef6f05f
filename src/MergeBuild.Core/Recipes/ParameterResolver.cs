namespace MergeBuild.Recipes;

/// <summary>
/// Finds the value of a parameter for one tensor, level by level, with mergekit's precedence (first hit wins):
/// the source's own <c>parameters</c> (per-model parameters only), the slice's, the top level's, then the method default.
/// A level whose conditional list matches nothing is skipped.
/// </summary>
public static class ParameterResolver
{
    /// <summary>
    /// A per-model parameter (<c>weight</c>, <c>density</c>…): source, then slice, then top level. Null when no level
    /// sets it — the caller applies the method default (or use the overload taking a <see cref="ParameterSpec"/>).
    /// <paramref name="tensorName"/> is the source's INPUT tensor name, as mergekit filters per-model parameters on it.
    /// </summary>
    public static double? ResolvePerModel(string name, ParameterMap source, ParameterMap? slice, ParameterMap topLevel, string tensorName, double t)
    {
        ArgumentNullException.ThrowIfNull(source);
        return FromLevel(source, name, tensorName, t) ?? ResolveGlobal(name, slice, topLevel, tensorName, t);
    }

    /// <summary>
    /// A global (method) parameter (<c>t</c>, <c>normalize</c>, <c>lambda</c>…): slice, then top level — never a
    /// model's own parameters. Null when neither sets it. <paramref name="tensorName"/> is the OUTPUT tensor name.
    /// </summary>
    public static double? ResolveGlobal(string name, ParameterMap? slice, ParameterMap topLevel, string tensorName, double t)
    {
        ArgumentNullException.ThrowIfNull(topLevel);
        return FromLevel(slice, name, tensorName, t) ?? FromLevel(topLevel, name, tensorName, t);
    }

    /// <summary>As <see cref="ResolvePerModel(string, ParameterMap, ParameterMap?, ParameterMap, string, double)"/>, falling back to the method default.</summary>
    public static double? ResolvePerModel(ParameterSpec spec, ParameterMap source, ParameterMap? slice, ParameterMap topLevel, string tensorName, double t)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return ResolvePerModel(spec.Name, source, slice, topLevel, tensorName, t) ?? spec.Default;
    }

    /// <summary>As <see cref="ResolveGlobal(string, ParameterMap?, ParameterMap, string, double)"/>, falling back to the method default.</summary>
    public static double? ResolveGlobal(ParameterSpec spec, ParameterMap? slice, ParameterMap topLevel, string tensorName, double t)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return ResolveGlobal(spec.Name, slice, topLevel, tensorName, t) ?? spec.Default;
    }

    private static double? FromLevel(ParameterMap? level, string name, string tensorName, double t) =>
        level is not null && level.TryGetValue(name, out var setting) ? ParameterEvaluation.Evaluate(setting, tensorName, t) : null;
}
