using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MergeBuild.Gates;

/// <summary>
/// Writes a gate report as <c>gates.json</c> (for tools), <c>gates.md</c> (for pull requests) and a self-contained
/// <c>gates.html</c> with a bar chart of each task's score for the base, every input and the merge, thresholds drawn.
/// </summary>
public static class GateReportWriter
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes the three files into <paramref name="folder"/> and returns their paths.</summary>
    public static IReadOnlyList<string> Write(GateReport report, string folder)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        var files = new[]
        {
            (Path.Combine(folder, "gates.json"), Json(report)),
            (Path.Combine(folder, "gates.md"), Markdown(report)),
            (Path.Combine(folder, "gates.html"), GateChart.Html(report)),
        };
        foreach (var (path, text) in files)
        {
            File.WriteAllText(path, text);
        }

        return files.Select(f => f.Item1).ToList();
    }

    /// <summary><c>{"passed", "recipe", "model", "tasks": [{"name", "metric", "score", "n", "threshold", "passed", …}]}</c>.</summary>
    public static string Json(GateReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var tasks = new JsonArray();
        foreach (var task in report.Tasks)
        {
            var baselines = new JsonArray();
            foreach (var b in task.Baselines)
            {
                baselines.Add(new JsonObject { ["model"] = b.Model, ["role"] = b.Role, ["score"] = b.Score, ["n"] = b.N });
            }

            tasks.Add(new JsonObject
            {
                ["name"] = task.Gate.Name,
                ["metric"] = task.Gate.MetricName,
                ["score"] = task.Score,
                ["n"] = task.N,
                ["threshold"] = double.IsFinite(task.Threshold) ? task.Threshold : null,
                ["threshold_rule"] = task.ThresholdText,
                ["higher_is_better"] = task.Gate.HigherIsBetter,
                ["passed"] = task.Passed,
                ["baselines"] = baselines,
            });
        }

        var root = new JsonObject
        {
            ["passed"] = report.Passed,
            ["recipe"] = report.Recipe,
            ["model"] = report.Model,
            ["tasks"] = tasks,
        };
        return root.ToJsonString(Indented) + "\n";
    }

    public static string Markdown(GateReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        text.AppendLine(Formatting.Invariant($"# Evaluation gates: {(report.Passed ? "passed" : "FAILED")}"));
        text.AppendLine();
        text.AppendLine(Formatting.Invariant($"Recipe `{report.Recipe}`, model `{report.Model}`."));
        text.AppendLine();
        text.AppendLine("| task | metric | merge | threshold | result | base | best input |");
        text.AppendLine("|---|---|---:|---|---|---:|---:|");
        foreach (var task in report.Tasks)
        {
            var baseScore = task.Baselines.FirstOrDefault(b => b.Role == "base");
            var best = task.BestInput;
            text.AppendLine(Formatting.Invariant(
                $"| {task.Gate.Name} | {task.Gate.MetricName} | {task.Score:0.###} | {task.ThresholdText} ({task.Threshold:0.###}) | {(task.Passed ? "pass" : "**FAIL**")} | {(baseScore is null ? "—" : baseScore.Score.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture))} | {(best is null ? "—" : Formatting.Invariant($"{best.Score:0.###} ({best.Model})"))} |"));
        }

        return text.ToString();
    }
}
