using System.Text.Json;
using MergeBuild.Diagnostics;
using MergeBuild.Gates;
using MergeBuild.Recipes.Gates;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Gates;

public class GateReportTests
{
    private static GateSpec Gate(string name, double? min = null, double? retention = null, double? max = null,
        GateMetric metric = GateMetric.ExactMatch) => new()
    {
        Name = name,
        Metric = metric,
        DataPath = "x.jsonl",
        Min = min,
        MinRetention = retention,
        Max = max,
        Location = new SourceLocation("r.yml", 3, 3),
    };

    private static readonly ModelScore[] Baselines =
    [
        new("base", "base", 0.2, 200), new("shipping", "input", 0.985, 200), new("refunds", "input", 0.17, 200),
    ];

    [Theory]
    [InlineData(0.35, null, 0.38, 0.35, true)]
    [InlineData(0.35, null, 0.30, 0.35, false)]
    [InlineData(null, 0.30, 0.2955, 0.2955, true)]   // 0.30 × best input 0.985
    [InlineData(null, 0.30, 0.29, 0.2955, false)]
    [InlineData(0.5, 0.30, 0.4, 0.5, false)]         // both rules: the stricter wins
    public void Thresholds_follow_min_and_min_retention(double? min, double? retention, double score,
        double threshold, bool passed)
    {
        var (t, p) = GateReport.Judge(Gate("t", min, retention), score, Baselines);
        Assert.Equal(threshold, t, 10);
        Assert.Equal(passed, p);
    }

    [Fact]
    public void Perplexity_passes_at_or_below_max()
    {
        var gate = Gate("ppl", max: 12, metric: GateMetric.Perplexity);
        Assert.True(GateReport.Judge(gate, 12, []).Passed);
        Assert.False(GateReport.Judge(gate, 12.01, []).Passed);
    }

    [Fact]
    public void Reports_hold_every_task_with_its_verdict()
    {
        var failing = Gate("refunds", min: 0.85);
        var passing = Gate("shipping", retention: 0.3);
        var report = new GateReport("r.yml", "out", [
            new GateOutcome(failing, 0.82, 200, 0.85, false, Baselines),
            new GateOutcome(passing, 0.5, 200, 0.2955, true, Baselines),
        ]);
        Assert.False(report.Passed);
        Assert.Equal("refunds: 0.82 < min 0.85 (exact_match, 200 examples)", report.Tasks[0].Summary);

        using var temp = new TempFolder();
        GateReportWriter.Write(report, temp.Path);
        using var json = JsonDocument.Parse(File.ReadAllText(temp.Combine("gates.json")));
        Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
        var task = json.RootElement.GetProperty("tasks")[0];
        Assert.Equal("refunds", task.GetProperty("name").GetString());
        Assert.Equal("exact_match", task.GetProperty("metric").GetString());
        Assert.Equal(0.82, task.GetProperty("score").GetDouble());
        Assert.Equal(200, task.GetProperty("n").GetInt32());
        Assert.Equal(0.85, task.GetProperty("threshold").GetDouble());
        Assert.False(task.GetProperty("passed").GetBoolean());

        var markdown = File.ReadAllText(temp.Combine("gates.md"));
        Assert.Contains("| refunds | exact_match | 0.82 | min 0.85 (0.85) | **FAIL** |", markdown, StringComparison.Ordinal);
        var html = File.ReadAllText(temp.Combine("gates.html"));
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.Contains("threshold 0.85", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
