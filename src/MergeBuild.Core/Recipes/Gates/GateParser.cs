using MergeBuild.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace MergeBuild.Recipes.Gates;

/// <summary>
/// Reads a recipe's <c>gates:</c> section, with the same strictness as the rest of the recipe: unknown keys and
/// metrics are errors with their position and a did-you-mean, every gate needs a threshold, paths are resolved
/// against the recipe's folder.
/// </summary>
public static class GateParser
{
    private static readonly string[] Keys =
        ["data", "metric", "min", "min_retention", "max", "limit", "command", "task", "results_metric", "results"];

    private static readonly string[] Metrics = ["exact_match", "accuracy", "perplexity"];

    /// <summary>The gates of the recipe set's final document (empty when it declares none).</summary>
    public static IReadOnlyList<GateSpec> Parse(RecipeSet recipes)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        if (!recipes.Final.Extensions.TryGetValue("gates", out var node) || RecipeNodes.IsNull(node))
        {
            return [];
        }

        var nodes = new RecipeNodes(recipes.FilePath);
        var map = nodes.Mapping(node, "gates", "Write gates: {task: {data: evals/task.jsonl, metric: exact_match, min: 0.5}}.");
        var gates = new List<GateSpec>();
        foreach (var (keyNode, value) in map.Children)
        {
            var name = nodes.Text(keyNode, "a gate's name");
            gates.Add(ParseGate(nodes, recipes.BaseDirectory, name, keyNode, value));
        }

        return gates;
    }

    private static GateSpec ParseGate(RecipeNodes nodes, string baseDirectory, string name, YamlNode keyNode, YamlNode value)
    {
        var entries = nodes.Entries(nodes.Mapping(value, $"gate '{name}'"), $"gate '{name}'", Keys);
        double? Number(string key) => entries.TryGetValue(key, out var e) ? nodes.Number(e.Value, $"{name}.{key}") : null;
        string? Text(string key) => entries.TryGetValue(key, out var e) ? nodes.Text(e.Value, $"{name}.{key}") : null;

        var command = Text("command");
        GateMetric metric;
        if (command is not null)
        {
            metric = GateMetric.External;
        }
        else if (!entries.TryGetValue("metric", out var metricEntry))
        {
            throw nodes.Fail(ErrorCodes.MissingKey, keyNode, $"gate '{name}' has no metric.",
                $"Add metric: one of {string.Join(", ", Metrics)}.");
        }
        else
        {
            var metricName = nodes.Text(metricEntry.Value, $"{name}.metric");
            metric = metricName switch
            {
                "exact_match" => GateMetric.ExactMatch,
                "accuracy" => GateMetric.Accuracy,
                "perplexity" => GateMetric.Perplexity,
                _ => throw nodes.UnknownName(ErrorCodes.InvalidValue, metricEntry.Value,
                    $"unknown metric '{metricName}' in gate '{name}'", metricName, Metrics, $"Use one of {string.Join(", ", Metrics)}."),
            };
        }

        var data = Text("data");
        if (metric != GateMetric.External && data is null)
        {
            throw nodes.Fail(ErrorCodes.MissingKey, keyNode, $"gate '{name}' has no data file.",
                "Add data: path/to/task.jsonl (relative to the recipe).");
        }

        var gate = new GateSpec
        {
            Name = name,
            Metric = metric,
            DataPath = data is null ? null : Path.GetFullPath(Path.Combine(baseDirectory, data)),
            Min = Number("min"),
            MinRetention = Number("min_retention"),
            Max = Number("max"),
            Limit = entries.TryGetValue("limit", out var limit) ? nodes.Integer(limit.Value, $"{name}.limit") : null,
            Command = command,
            ResultsTask = Text("task"),
            ResultsMetric = Text("results_metric"),
            ResultsPath = Text("results") is { } results ? Path.GetFullPath(Path.Combine(baseDirectory, results)) : null,
            Location = nodes.At(keyNode),
        };
        Check(nodes, keyNode, gate);
        return gate;
    }

    private static void Check(RecipeNodes nodes, YamlNode keyNode, GateSpec gate)
    {
        if (gate.Min is null && gate.MinRetention is null && gate.Max is null)
        {
            throw nodes.Fail(ErrorCodes.MissingKey, keyNode, $"gate '{gate.Name}' has no threshold.",
                gate.HigherIsBetter ? "Add min: (a score) or min_retention: (a fraction of the best input's score)."
                    : "Add max: (the highest acceptable perplexity).");
        }

        if (!gate.HigherIsBetter && (gate.Min is not null || gate.MinRetention is not null))
        {
            throw nodes.Fail(ErrorCodes.InvalidValue, keyNode, $"gate '{gate.Name}' measures perplexity, where lower is better.",
                "Use max: instead of min: or min_retention:.");
        }

        if (gate.HigherIsBetter && gate.Max is not null)
        {
            throw nodes.Fail(ErrorCodes.InvalidValue, keyNode,
                $"gate '{gate.Name}' measures {gate.MetricName}, where higher is better; max: does not apply.",
                "Use min: or min_retention:.");
        }

        if (gate.MinRetention is < 0 or > 1 || gate.Limit is <= 0)
        {
            throw nodes.Fail(ErrorCodes.ParameterOutOfRange, keyNode,
                $"gate '{gate.Name}': min_retention must lie in [0, 1] and limit must be positive.");
        }

        if (gate.Metric == GateMetric.External && gate.ResultsMetric is null)
        {
            throw nodes.Fail(ErrorCodes.MissingKey, keyNode, $"external gate '{gate.Name}' does not say which score to read.",
                "Add results_metric: (e.g. acc,none), and task: if the results key differs from the gate's name.");
        }
    }
}
