using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

public class MergeCommandTests
{
    [Fact]
    public void Merging_twice_gives_byte_identical_files_equal_to_the_reference_merge()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var first = CliRunner.Run("merge", recipe, temp.Combine("a"), "--threads", "1");
        var second = CliRunner.Run("merge", recipe, temp.Combine("b"), "--threads", "2");

        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("linear, 3 models, 39 tensors", first.Output, StringComparison.Ordinal);
        Assert.Contains("merging: 100%", first.Output, StringComparison.Ordinal);
        foreach (var file in Directory.GetFiles(temp.Combine("a")))
        {
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(temp.Combine("b", Path.GetFileName(file))));
        }

        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("linear"));
        var merged = RawSafetensors.ReadFolder(temp.Combine("a"));
        Assert.All(reference, kv => Assert.Equal(kv.Value.Data, merged[kv.Key].Data));
    }

    [Fact]
    public void Out_shard_size_and_no_copy_tokenizer_are_honoured()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var result = CliRunner.Run("merge", recipe, temp.Combine("out"), "--out-shard-size", "500k",
            "--no-copy-tokenizer", "--quiet");

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("merging:", result.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.Combine("out", "model.safetensors.index.json")));
        Assert.Equal(4, Directory.GetFiles(temp.Combine("out"), "model-*-of-00004.safetensors").Length);
        Assert.False(File.Exists(temp.Combine("out", "tokenizer.json")));
        Assert.True(File.Exists(temp.Combine("out", "generation_config.json")));
    }

    [Fact]
    public void A_recipe_error_is_one_line_with_its_position_and_exit_code_one()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {wieght: 1.0}
            """);
        var result = CliRunner.Run("merge", recipe, temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"recipe\.yml\(4,\d+\): error MB2007: .*wieght.*weight", line);
        Assert.False(Directory.Exists(temp.Combine("out")));
    }

    [Fact]
    public void A_bad_shard_size_is_a_usage_error()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var result = CliRunner.Run("merge", recipe, temp.Combine("out"), "--out-shard-size", "lots");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error MB5001: Invalid --out-shard-size 'lots'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_memory_budget_smaller_than_one_tensor_still_merges_the_same_bytes()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, """
            merge_method: ties
            base_model: {models}/base
            models:
              - model: {models}/shipping
                parameters: {weight: 1.0, density: 0.5}
              - model: {models}/refunds
                parameters: {weight: 1.0, density: 0.5}
            dtype: float32
            """);
        var roomy = CliRunner.Run("merge", recipe, temp.Combine("roomy"), "--quiet");
        var tight = CliRunner.Run("merge", recipe, temp.Combine("tight"), "--quiet", "--memory-budget", "4k");
        var invalid = CliRunner.Run("merge", recipe, temp.Combine("invalid"), "--memory-budget", "1.5G");

        Assert.Equal(0, roomy.ExitCode);
        Assert.Equal(0, tight.ExitCode);
        Assert.Equal(File.ReadAllBytes(temp.Combine("roomy", "model.safetensors")),
            File.ReadAllBytes(temp.Combine("tight", "model.safetensors")));
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("error MB5001: Invalid --memory-budget '1.5G'", invalid.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_reports_ok_without_writing_anything()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var result = CliRunner.Run("validate", recipe);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("ok: linear, 3 models, 39 tensors, 808,832 parameters", result.Output, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Validate_fails_on_a_missing_model_with_exit_code_one()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, "merge_method: passthrough\nmodels:\n  - model: nowhere/model\n");
        var result = CliRunner.Run("validate", recipe);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("recipe.yml(3,", result.Error, StringComparison.Ordinal);
        Assert.Contains("error MB3001", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hash_memo_given_with_the_cache_off_remembers_every_input_the_merge_checked()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, RecipeFiles.SpecialistsLinear);
        var memo = temp.Combine("obj", "content-hashes.tsv");

        var result = CliRunner.Run("merge", recipe, temp.Combine("out"), "--cache-mode", "off", "--hash-memo", memo, "--quiet");

        Assert.Equal(0, result.ExitCode);
        var remembered = File.ReadAllLines(memo).Select(line => line.Split('\t')).ToDictionary(p => p[3], p => p[0]);
        foreach (var model in new[] { "shipping", "refunds", "catalog" })
        {
            var weights = Path.GetFullPath(Path.Combine(Fixtures.Model(model), "model.safetensors"));
            Assert.Equal(Execution.ContentHash.OfFile(weights), remembered[weights]);
        }
    }
}

