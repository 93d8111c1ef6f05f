using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Metrics;

/// <summary>What an evaluation measures.</summary>
public enum EvalMetric
{
    /// <summary>
    /// Greedy generation from <c>prompt</c> must reproduce <c>answer</c> exactly; score = fraction correct.
    /// </summary>
    ExactMatch,

    /// <summary>The choice with the highest total log-probability after <c>prompt</c> must be <c>label</c>.</summary>
    Accuracy,

    /// <summary>
    /// exp of the mean negative log-likelihood per token of <c>text</c> (or of the answer given the prompt); lower is
    /// better.
    /// </summary>
    Perplexity,
}

/// <summary>The metric names used in eval configuration (<c>exact_match</c>, <c>accuracy</c>, <c>perplexity</c>).</summary>
public static class EvalMetrics
{
    public static string Name(EvalMetric metric) => metric switch
    {
        EvalMetric.ExactMatch => "exact_match",
        EvalMetric.Accuracy => "accuracy",
        EvalMetric.Perplexity => "perplexity",
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    /// <summary>Parses a metric name; MB5001 naming the valid ones otherwise.</summary>
    public static EvalMetric Parse(string name) => name switch
    {
        "exact_match" => EvalMetric.ExactMatch,
        "accuracy" => EvalMetric.Accuracy,
        "perplexity" => EvalMetric.Perplexity,
        _ => throw new MergeBuildException(ErrorCodes.InvalidOption, $"unknown metric '{name}'.",
            hint: "Use exact_match, accuracy or perplexity."),
    };
}
