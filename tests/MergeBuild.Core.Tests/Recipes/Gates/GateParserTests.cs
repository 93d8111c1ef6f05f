using MergeBuild.Diagnostics;
using MergeBuild.Recipes;
using MergeBuild.Recipes.Gates;

namespace MergeBuild.Core.Tests.Recipes.Gates;

public class GateParserTests
{
    private const string Head = "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: 1}\n";

    private static IReadOnlyList<GateSpec> Parse(string gates) =>
        GateParser.Parse(RecipeParser.Parse(Head + gates, Path.Combine(Path.GetTempPath(), "r", "recipe.yml")));

    [Fact]
    public void Gates_parse_with_paths_resolved_against_the_recipe()
    {
        var gates = Parse("""
            gates:
              shipping: {data: evals/shipping.jsonl, metric: exact_match, min: 0.35}
              refunds:  {data: evals/refunds.jsonl, metric: exact_match, min_retention: 0.30, limit: 50}
              fluency:  {data: evals/text.jsonl, metric: perplexity, max: 12.5}
              mmlu:     {command: "lm_eval --model hf --model_args pretrained={model}", task: mmlu, results_metric: "acc,none", min: 0.4}
            """);
        Assert.Equal(["shipping", "refunds", "fluency", "mmlu"], gates.Select(g => g.Name));
        Assert.Equal(Path.Combine(Path.GetTempPath(), "r", "evals", "shipping.jsonl"), gates[0].DataPath);
        Assert.Equal(0.35, gates[0].Min);
        Assert.Equal(GateMetric.ExactMatch, gates[1].Metric);
        Assert.Equal(0.30, gates[1].MinRetention);
        Assert.Equal(50, gates[1].Limit);
        Assert.False(gates[2].HigherIsBetter);
        Assert.Equal(GateMetric.External, gates[3].Metric);
        Assert.Equal("acc,none", gates[3].ResultsMetric);
        Assert.Equal(6, gates[0].Location.Line);
    }

    [Fact]
    public void A_recipe_without_gates_has_none() => Assert.Empty(Parse(""));

    [Theory]
    [InlineData("gates:\n  t: {data: d.jsonl, metric: exact_match}\n", ErrorCodes.MissingKey, 6, "threshold")]
    [InlineData("gates:\n  t: {data: d.jsonl, metric: exact_mach, min: 1}\n", ErrorCodes.InvalidValue, 6, "did you mean 'exact_match'")]
    [InlineData("gates:\n  t: {data: d.jsonl, metric: exact_match, mni: 1}\n", ErrorCodes.UnknownKey, 6, "did you mean 'min'")]
    [InlineData("gates:\n  t: {data: d.jsonl, metric: perplexity, min: 1}\n", ErrorCodes.InvalidValue, 6, "lower is better")]
    [InlineData("gates:\n  t: {metric: exact_match, min: 1}\n", ErrorCodes.MissingKey, 6, "no data file")]
    [InlineData("gates:\n  t: {command: run, min: 1}\n", ErrorCodes.MissingKey, 6, "results_metric")]
    [InlineData("gates:\n  t: {data: d.jsonl, metric: accuracy, min_retention: 1.5}\n", ErrorCodes.ParameterOutOfRange, 6, "min_retention")]
    [InlineData("gates: [shipping]\n", ErrorCodes.InvalidValue, 5, "mapping")]
    public void Bad_gates_are_errors_with_their_position(string gates, string code, int line, string text)
    {
        var error = Assert.Throws<MergeBuildException>(() => Parse(gates));
        Assert.Equal(code, error.Code);
        Assert.Equal(line, error.Location!.Line);
        Assert.Contains(text, error.FullMessage, StringComparison.Ordinal);
    }
}
