using System.Text.Json;
using MergeBuild.Tests;

namespace MergeBuild.Tasks.Tests;

/// <summary>Evaluation gates as build checks: a merge that loses a skill fails the build with that task's error.</summary>
public class GateBuildTests
{
    private static string Recipe(double shippingMin) => $$"""
        merge_method: ties
        base_model: {models}/base
        parameters: {density: 0.5, weight: 1.0}
        models:
          - model: {models}/shipping
          - model: {models}/refunds
          - model: {models}/catalog
        dtype: float32
        out_dtype: bfloat16
        gates:
          shipping: {data: {{Eval("shipping")}}, metric: exact_match, min: {{shippingMin.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}
          refunds:  {data: {{Eval("refunds")}}, metric: exact_match, min_retention: 0.25}
          general:  {data: {{Eval("general")}}, metric: exact_match, min: 0.95}
        """;

    private static string Eval(string task) => Fixtures.Eval(task).Replace('\\', '/');

    [Fact]
    public void Gates_pass_for_the_recipe_and_a_raised_threshold_fails_the_build_with_that_task()
    {
        using var project = new ConsumerProject(("assistant", Recipe(0.33)));
        var passing = project.Build();
        Assert.True(passing.ExitCode == 0, passing.ToString());
        Assert.Contains("gates passed (3 tasks)", passing.Output, StringComparison.Ordinal);
        var report = project.PathOf("obj", "Debug", "net10.0", "mergebuild", "assistant.gates");
        Assert.True(File.Exists(Path.Combine(report, "gates.html")));

        // The TIES merge scores 0.38 on shipping (fixtures' table): a 0.5 minimum must fail the build.
        project.WriteRecipe("assistant", Recipe(0.5));
        var failing = project.Build();
        Assert.NotEqual(0, failing.ExitCode);
        Assert.Matches(@"assistant\.yml\(11,3\): error MB6101: gate shipping: 0\.38 < min 0\.5", failing.Output);
        Assert.DoesNotContain("gate refunds", failing.Output.Split('\n').Where(l => l.Contains("error", StringComparison.Ordinal)).FirstOrDefault() ?? "", StringComparison.Ordinal);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "gates.json"))))
        {
            Assert.False(json.RootElement.GetProperty("passed").GetBoolean());
            var shipping = json.RootElement.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "shipping");
            Assert.False(shipping.GetProperty("passed").GetBoolean());
            Assert.Equal(0.38, shipping.GetProperty("score").GetDouble(), 6);
        }

        Assert.Contains("**FAIL**", File.ReadAllText(Path.Combine(report, "gates.md")), StringComparison.Ordinal);

        // A failed gate is never up to date: the next build merges and fails on the gate again (not on the output
        // folder), and restoring the threshold replaces the failed output and passes.
        var again = project.Build();
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("error MB6101: gate shipping", again.Output, StringComparison.Ordinal);
        project.WriteRecipe("assistant", Recipe(0.33));
        var fixedBuild = project.Build();
        Assert.True(fixedBuild.ExitCode == 0, fixedBuild.ToString());
        Assert.Contains("gates passed (3 tasks)", fixedBuild.Output, StringComparison.Ordinal);
    }
}
