using MergeBuild.Diagnostics;

namespace MergeBuild.Recipes.Gates;

/// <summary>How a gate scores a model on its task.</summary>
public enum GateMetric
{
    /// <summary>Greedy decoding until end-of-sequence must reproduce <c>answer</c> exactly; higher is better.</summary>
    ExactMatch,

    /// <summary>The choice with the highest log-likelihood must be <c>label</c>; higher is better.</summary>
    Accuracy,

    /// <summary>Perplexity of the text; lower is better.</summary>
    Perplexity,

    /// <summary>A score read from an external evaluator's results (lm-eval-harness format).</summary>
    External,
}

/// <summary>
/// One evaluation gate of a recipe (<c>gates: {task: {...}}</c>, a key mergekit ignores): what to measure and the
/// threshold the merged model must meet for the build to pass.
/// </summary>
public sealed record GateSpec
{
    /// <summary>The task's name (the key under <c>gates:</c>).</summary>
    public required string Name { get; init; }

    public required GateMetric Metric { get; init; }

    /// <summary>The JSONL eval set, resolved against the recipe's folder (null for external gates).</summary>
    public string? DataPath { get; init; }

    /// <summary>Lowest acceptable score.</summary>
    public double? Min { get; init; }

    /// <summary>Lowest acceptable score as a fraction of the best input model's score on the same task.</summary>
    public double? MinRetention { get; init; }

    /// <summary>Highest acceptable score (perplexity).</summary>
    public double? Max { get; init; }

    /// <summary>Evaluate only the first <c>limit</c> lines.</summary>
    public int? Limit { get; init; }

    /// <summary>External gates: the command to run, with <c>{model}</c> replaced by the model folder.</summary>
    public string? Command { get; init; }

    /// <summary>External gates: the task key in the results' <c>results</c> object (default: the gate's name).</summary>
    public string? ResultsTask { get; init; }

    /// <summary>External gates: the metric key inside that task, e.g. <c>acc,none</c>.</summary>
    public string? ResultsMetric { get; init; }

    /// <summary>External gates: a results file the command writes (relative to the recipe), else its stdout is read.</summary>
    public string? ResultsPath { get; init; }

    /// <summary>Where the gate is declared, for errors about it.</summary>
    public required SourceLocation Location { get; init; }

    /// <summary>True when a higher score is better.</summary>
    public bool HigherIsBetter => Metric != GateMetric.Perplexity;

    /// <summary>The metric's name as written in recipes and reports.</summary>
    public string MetricName => Metric switch
    {
        GateMetric.ExactMatch => "exact_match",
        GateMetric.Accuracy => "accuracy",
        GateMetric.Perplexity => "perplexity",
        _ => ResultsMetric ?? "external",
    };
}
