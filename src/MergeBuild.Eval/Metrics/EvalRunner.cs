namespace MergeBuild.Eval.Metrics;

/// <summary>
/// Runs one metric of one eval set on one model. Lines are batched (prompts decoded together, sequences scored
/// together); each line's result is the same as if it ran alone, so scores do not depend on batch size or threads.
/// </summary>
public static class EvalRunner
{
    /// <summary>Loads the model in <paramref name="modelFolder"/> and evaluates <paramref name="evalFile"/>.</summary>
    public static EvalResult Evaluate(string modelFolder, string evalFile, EvalMetric metric, int? limit = null,
        EvalOptions? options = null) =>
        Evaluate(EvalModel.Load(modelFolder), evalFile, metric, limit, options);

    /// <summary>Evaluates an already loaded model (load once, evaluate many sets).</summary>
    public static EvalResult Evaluate(EvalModel model, string evalFile, EvalMetric metric, int? limit = null,
        EvalOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new EvalOptions();
        var lines = EvalSetReader.Read(evalFile, metric, limit);
        var results = metric switch
        {
            EvalMetric.ExactMatch => ExactMatchScorer.Score(model, lines, options),
            EvalMetric.Accuracy => ChoiceScorer.Score(model, lines),
            EvalMetric.Perplexity => PerplexityScorer.Score(model, lines),
            _ => throw new ArgumentOutOfRangeException(nameof(metric)),
        };
        var score = metric == EvalMetric.Perplexity
            ? PerplexityScorer.Perplexity(results)
            : results.Count == 0 ? 0 : (double)results.Count(r => r.Correct == true) / results.Count;
        return new EvalResult(metric, score, results.Count, results);
    }
}
