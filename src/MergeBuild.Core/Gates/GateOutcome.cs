using MergeBuild.Recipes.Gates;

namespace MergeBuild.Gates;

/// <summary>One model's score on a gate's task: the merge, an input model, or the base (for comparison).</summary>
/// <param name="Model">The model as the recipe names it (or "merge").</param>
/// <param name="Role"><c>merge</c>, <c>input</c> or <c>base</c>.</param>
public sealed record ModelScore(string Model, string Role, double Score, int N);

/// <summary>The verdict of one gate on a merged model.</summary>
public sealed record GateOutcome(GateSpec Gate, double Score, int N, double Threshold, bool Passed,
    IReadOnlyList<ModelScore> Baselines)
{
    /// <summary>How the threshold was set, for messages: <c>min 0.35</c>, <c>0.30 × best input 0.98</c>, <c>max 12</c>.</summary>
    public string ThresholdText
    {
        get
        {
            var parts = new List<string>();
            if (Gate.Min is { } min)
            {
                parts.Add(Formatting.Invariant($"min {min:0.###}"));
            }

            if (Gate.MinRetention is { } retention && BestInput is { } best)
            {
                parts.Add(Formatting.Invariant($"{retention:0.###} × {best.Model}'s {best.Score:0.###}"));
            }

            if (Gate.Max is { } max)
            {
                parts.Add(Formatting.Invariant($"max {max:0.###}"));
            }

            return string.Join(" and ", parts);
        }
    }

    /// <summary>The best-scoring input model (not the base), the reference of <c>min_retention</c>.</summary>
    public ModelScore? BestInput =>
        Baselines.Where(b => b.Role == "input").OrderByDescending(b => Gate.HigherIsBetter ? b.Score : -b.Score)
            .FirstOrDefault();

    /// <summary>The failure line the build shows, e.g. <c>refunds: 0.82 &lt; min 0.85</c>.</summary>
    public string Summary => Formatting.Invariant(
        $"{Gate.Name}: {Score:0.###} {(Passed ? (Gate.HigherIsBetter ? "≥" : "≤") : (Gate.HigherIsBetter ? "<" : ">"))} {ThresholdText}{(Gate.MinRetention is not null ? Formatting.Invariant($" = {Threshold:0.###}") : "")} ({Gate.MetricName}, {N} examples)");
}
