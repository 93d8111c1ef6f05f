using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

/// <summary>What the command line says about tokenizer policies: warnings even when quiet, and the mismatch error.</summary>
public class TokenizerPolicyCommandTests
{
    private const string Models = """
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/catalog-sku
            parameters: {weight: 1.0}
        """;

    [Fact]
    public void Base_policy_warns_that_the_sku_token_is_dropped_even_when_quiet()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, Models + "\ntokenizer_source: base\n");

        var result = CliRunner.Run("merge", recipe, temp.Combine("out"), "--quiet");

        Assert.True(result.ExitCode == 0, result.Error);
        var warning = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{recipe}: warning: ", warning, StringComparison.Ordinal);
        Assert.Contains("'<SKU>'", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatched_vocabularies_print_one_error_line_that_suggests_a_policy()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, Models);

        var result = CliRunner.Run("merge", recipe, temp.Combine("out"), "--quiet");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{recipe}(5,", line, StringComparison.Ordinal);
        Assert.Contains("error MB3012", line, StringComparison.Ordinal);
        Assert.Contains("tokenizer_source: union", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("out")));
    }
}
