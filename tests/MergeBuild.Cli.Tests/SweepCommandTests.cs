using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

public class SweepCommandTests
{
    [Fact]
    public void Sweep_reports_which_slerp_t_values_pass_every_gate()
    {
        using var temp = new TempFolder();
        // slerp from shipping (t = 0) to refunds (t = 1): shipping accuracy falls and refunds accuracy rises with t.
        var recipe = RecipeFiles.Write(temp, $$"""
            merge_method: slerp
            base_model: {models}/shipping
            models:
              - model: {models}/shipping
              - model: {models}/refunds
            parameters:
              t: 0.5
            gates:
              shipping: {data: {{Fixtures.Eval("shipping").Replace('\\', '/')}}, metric: exact_match, min: 0.9, limit: 40}
              refunds:  {data: {{Fixtures.Eval("refunds").Replace('\\', '/')}}, metric: exact_match, min: 0.9, limit: 40}
            """);
        var result = CliRunner.Run("sweep", recipe, "--set", "parameters.t", "--values", "0,1",
            "--baseline-cache", temp.Combine("cache"));

        // The endpoints are the specialists themselves: each fails the other's gate.
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("parameters.t = 0 ", result.Output, StringComparison.Ordinal);
        Assert.Contains("parameters.t = 1 ", result.Output, StringComparison.Ordinal);
        Assert.Contains("no value passes every gate", result.Output, StringComparison.Ordinal);
        Assert.Equal(2, result.Output.Split('\n').Count(l => l.TrimEnd().EndsWith("fail", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_bad_path_is_a_usage_error()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, "merge_method: linear\nmodels:\n  - model: {models}/shipping\n    parameters: {weight: 1}\ngates:\n  g: {data: x.jsonl, metric: exact_match, min: 0}\n");
        var result = CliRunner.Run("sweep", recipe, "--set", "models[5].parameters.weight", "--values", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error MB5001", result.Error, StringComparison.Ordinal);
    }
}
