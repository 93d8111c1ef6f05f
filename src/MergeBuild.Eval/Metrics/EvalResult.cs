namespace MergeBuild.Eval.Metrics;

/// <summary>
/// An evaluation's result: <see cref="Score"/> is the fraction correct (exact_match, accuracy) or the perplexity,
/// over <see cref="N"/> lines, with the outcome of every line.
/// </summary>
public sealed record EvalResult(EvalMetric Metric, double Score, int N, IReadOnlyList<LineResult> Lines)
{
    /// <summary>Lines answered correctly (exact_match, accuracy), or null for perplexity.</summary>
    public int? Correct => Metric == EvalMetric.Perplexity ? null : Lines.Count(l => l.Correct == true);
}
