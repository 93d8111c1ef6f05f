using MergeBuild.Eval.Metrics;
using MergeBuild.Gates;
using MergeBuild.Recipes;
using MergeBuild.Recipes.Gates;

namespace MergeBuild.Eval.Gates;

/// <summary>Where baselines are cached and how long external evaluators may run.</summary>
public sealed record GateEvaluationOptions
{
    public string BaselineCacheDirectory { get; init; } = BaselineCache.DefaultDirectory;

    public TimeSpan ExternalTimeout { get; init; } = TimeSpan.FromHours(2);
}

/// <summary>
/// Checks a merged model against its recipe's gates: scores the merge on every task, scores the base and each input
/// model for comparison (cached by content), and judges each task against its threshold.
/// </summary>
public static class GateEvaluator
{
    public static GateReport Evaluate(RecipeSet recipes, string mergedModel, GateEvaluationOptions? options = null,
        Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        options ??= new GateEvaluationOptions();
        var gates = GateParser.Parse(recipes);
        var inputs = InputModels(recipes);
        var cache = new BaselineCache(options.BaselineCacheDirectory);
        var loaded = new Dictionary<string, EvalModel>(StringComparer.Ordinal);
        EvalModel Load(string folder) =>
            loaded.TryGetValue(folder, out var model) ? model : loaded[folder] = EvalModel.Load(folder);

        var outcomes = new List<GateOutcome>();
        foreach (var gate in gates)
        {
            double score;
            int n;
            if (gate.Metric == GateMetric.External)
            {
                (score, n) = (ExternalGate.Score(gate, mergedModel, options.ExternalTimeout), 0);
            }
            else
            {
                var result = EvalRunner.Evaluate(Load(mergedModel), gate.DataPath!, Metric(gate), gate.Limit);
                (score, n) = (result.Score, result.N);
            }

            var baselines = new List<ModelScore>();
            foreach (var (name, folder, role) in inputs)
            {
                if (gate.Metric == GateMetric.External)
                {
                    if (gate.MinRetention is not null)
                    {
                        baselines.Add(new ModelScore(name, role, ExternalGate.Score(gate, folder, options.ExternalTimeout), 0));
                    }

                    continue;
                }

                var (s, count) = cache.GetOrCompute(folder, gate.DataPath!, gate.MetricName, gate.Limit, () =>
                {
                    log?.Invoke($"evaluating {name} on {gate.Name} (baseline, cached afterwards)");
                    var r = EvalRunner.Evaluate(Load(folder), gate.DataPath!, Metric(gate), gate.Limit);
                    return (r.Score, r.N);
                });
                baselines.Add(new ModelScore(name, role, s, count));
            }

            var (threshold, passed) = GateReport.Judge(gate, score, baselines);
            outcomes.Add(new GateOutcome(gate, score, n, threshold, passed, baselines));
        }

        return new GateReport(recipes.FilePath, mergedModel, outcomes);
    }

    private static EvalMetric Metric(GateSpec gate) => gate.Metric switch
    {
        GateMetric.ExactMatch => EvalMetric.ExactMatch,
        GateMetric.Accuracy => EvalMetric.Accuracy,
        _ => EvalMetric.Perplexity,
    };

    /// <summary>The final document's models (base first, then inputs in recipe order), LoRA references excluded.</summary>
    private static List<(string Name, string Folder, string Role)> InputModels(RecipeSet recipes)
    {
        var recipe = recipes.Final;
        var result = new List<(string, string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var baseFolder = recipe.BaseModel is { } b ? Path.GetFullPath(b.ResolvePath(recipes.BaseDirectory)) : null;
        foreach (var reference in recipe.AllModelReferences()
                     .Where(r => r.IntermediateName is null && r.LoraPath is null)
                     .OrderBy(r => Path.GetFullPath(r.ResolvePath(recipes.BaseDirectory)) == baseFolder ? 0 : 1))
        {
            var folder = Path.GetFullPath(reference.ResolvePath(recipes.BaseDirectory));
            if (seen.Add(folder))
            {
                var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(reference.Path));
                result.Add((name, folder, folder == baseFolder ? "base" : "input"));
            }
        }

        return result;
    }
}
