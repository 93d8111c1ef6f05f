namespace MergeBuild.Gates;

/// <summary>Every gate's verdict on one merged model.</summary>
public sealed record GateReport(string Recipe, string Model, IReadOnlyList<GateOutcome> Tasks)
{
    public bool Passed => Tasks.All(t => t.Passed);

    /// <summary>
    /// The threshold a gate sets given the input models' scores: the largest of <c>min</c> and
    /// <c>min_retention × best input</c> for scores where higher is better, <c>max</c> otherwise.
    /// </summary>
    public static (double Threshold, bool Passed) Judge(Recipes.Gates.GateSpec gate, double score,
        IReadOnlyList<ModelScore> baselines)
    {
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(baselines);
        if (!gate.HigherIsBetter)
        {
            var max = gate.Max ?? double.PositiveInfinity;
            return (max, score <= max);
        }

        var threshold = gate.Min ?? double.NegativeInfinity;
        if (gate.MinRetention is { } retention)
        {
            var inputs = baselines.Where(b => b.Role == "input").ToList();
            var best = inputs.Count > 0 ? inputs.Max(b => b.Score) : 0;
            threshold = Math.Max(threshold, retention * best);
        }

        return (threshold, score >= threshold);
    }
}
