namespace MergeBuild.Eval.Metrics;

/// <summary>
/// The outcome for one eval line. Exact match: <see cref="Output"/> (the generated text), <see cref="Correct"/> and
/// <see cref="MinTopGap"/> (the closest call between the two best tokens while decoding). Accuracy: the chosen
/// <see cref="Choice"/>, its text as <see cref="Output"/>, <see cref="Correct"/> and every choice's log-probability.
/// Perplexity: the summed <see cref="LogProbability"/> of the <see cref="TokenCount"/> scored tokens.
/// </summary>
public sealed record LineResult(int Line)
{
    public bool? Correct { get; init; }

    public string? Output { get; init; }

    public float? MinTopGap { get; init; }

    public int? Choice { get; init; }

    public IReadOnlyList<double>? ChoiceLogProbabilities { get; init; }

    public double? LogProbability { get; init; }

    public int TokenCount { get; init; }
}
