using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

public class EvalCommandTests
{
    private static string Recipe(TempFolder temp, string min) => RecipeFiles.Write(temp, $"""
        merge_method: linear
        models:
          - model: {"{models}"}/shipping
            parameters: {"{weight: 1}"}
          - model: {"{models}"}/refunds
            parameters: {"{weight: 1}"}
        gates:
          refunds: {"{"}data: {Fixtures.Eval("refunds").Replace('\\', '/')}, metric: exact_match, min: {min}{"}"}
        """);

    [Fact]
    public void Eval_scores_a_model_against_the_recipe_gates()
    {
        using var temp = new TempFolder();
        // The refunds specialist scores 1.0 on refunds (fixtures' table).
        var pass = CliRunner.Run("eval", Fixtures.Model("refunds"), "--recipe", Recipe(temp, "0.9"),
            "--report", temp.Combine("report"), "--baseline-cache", temp.Combine("cache"));
        Assert.True(pass.ExitCode == 0, pass.Error);
        Assert.Contains("gate refunds: 1 ≥ min 0.9", pass.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.Combine("report", "gates.json")));

        // The shipping specialist scores 0.17: the gate fails with a positioned error and exit code 1.
        var fail = CliRunner.Run("eval", Fixtures.Model("shipping"), "--recipe", Recipe(temp, "0.9"),
            "--report", temp.Combine("report2"), "--baseline-cache", temp.Combine("cache"));
        Assert.Equal(1, fail.ExitCode);
        Assert.Matches(@"recipe\.yml\(8,3\): error MB6101: gate refunds: 0\.17 < min 0\.9", fail.Error);
    }
}
