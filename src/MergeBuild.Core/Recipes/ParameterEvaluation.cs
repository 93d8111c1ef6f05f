using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes;

/// <summary>
/// Turns a parameter setting into the number used for one tensor, exactly as mergekit's <c>evaluate_setting</c> does.
/// </summary>
public static class ParameterEvaluation
{
    /// <summary>
    /// mergekit's gradient rule: <c>x = t·(n−1); i0 = (int)x; i1 = min(n−1, i0+1); f = x−i0; (1−f)·v[i0] + f·v[i1]</c>,
    /// in double precision. The truncation is deliberate: a <c>t</c> whose product lands a hair under an index reads
    /// the lower segment, and matching mergekit bit for bit means doing the same.
    /// </summary>
    public static double InterpolateGradient(IReadOnlyList<double> values, double t)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("A gradient needs at least one value.", nameof(values));
        }

        if (!(t >= 0 && t <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(t), t, "The layer position must be in [0, 1].");
        }

        var n = values.Count;
        var x = t * (n - 1);
        var i0 = (int)x;
        var i1 = Math.Min(n - 1, i0 + 1);
        var f = x - i0;
        return (1 - f) * values[i0] + f * values[i1];
    }

    /// <summary>
    /// Whether a conditional entry's filter applies to a tensor: null and <c>"*"</c> match everything, anything else is
    /// a plain (ordinal) substring test — no regex, no glob, so <c>layers.1</c> also matches <c>layers.10</c>.
    /// </summary>
    public static bool FilterMatches(string? filter, string tensorName)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        return filter is null || filter == "*" || tensorName.Contains(filter, StringComparison.Ordinal);
    }

    /// <summary>
    /// The value of <paramref name="setting"/> for a tensor at layer position <paramref name="t"/>; null when it is a
    /// conditional list none of whose filters match (the caller then falls through to the next level).
    /// </summary>
    public static double? Evaluate(ParameterSetting setting, string tensorName, double t)
    {
        ArgumentNullException.ThrowIfNull(setting);
        switch (setting)
        {
            case ScalarSetting { Number: { } number }:
                return number;
            case ScalarSetting scalar:
                // The parser refuses text for numeric parameters; reaching this means a setting built in code.
                throw new MergeBuildException(ErrorCodes.InvalidValue,
                    $"'{scalar.Text}' is not a number.", scalar.Location, "Write a number, a boolean, a list of numbers or a list of {filter, value}.");
            case GradientSetting gradient:
                return InterpolateGradient(gradient.Values, t);
            case ConditionalSetting conditional:
                foreach (var entry in conditional.Entries)
                {
                    if (FilterMatches(entry.Filter, tensorName))
                    {
                        return Evaluate(entry.Value, tensorName, t);
                    }
                }

                return null;
            default:
                throw new ArgumentException($"Unknown setting type {setting.GetType().Name}.", nameof(setting));
        }
    }

    /// <summary>
    /// Layer position inside a slice: <c>idx/(n−1)</c>, and 1 for a one-layer slice (mergekit's rule). Pre- and
    /// post-layer tensors (embeddings, final norm, lm_head) use 0; the planner passes that itself.
    /// </summary>
    public static double LayerPosition(int indexInSlice, int sliceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceLength, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(indexInSlice);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(indexInSlice, sliceLength);
        return sliceLength == 1 ? 1.0 : (double)indexInSlice / (sliceLength - 1);
    }
}
