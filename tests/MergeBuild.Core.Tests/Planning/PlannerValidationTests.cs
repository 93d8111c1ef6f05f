using MergeBuild.Core.Tests.Execution;
using MergeBuild.Diagnostics;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Planning;

/// <summary>Recipes that parse but cannot work with their models: caught from headers, before any tensor is read.</summary>
public class PlannerValidationTests
{
    private static MergeBuildException Fails(TempFolder temp, string yaml) =>
        Assert.Throws<MergeBuildException>(() => MergeRunner.Plan(temp, yaml));

    [Fact]
    public void A_missing_model_names_the_recipe_line()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: {models}/does-not-exist
                parameters: {weight: 1}
            """);
        Assert.Equal(ErrorCodes.ModelNotFound, error.Code);
        Assert.Equal(5, error.Location!.Line);
        Assert.EndsWith("recipe.yml", error.Location.File, StringComparison.Ordinal);
        Assert.Contains("does-not-exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hub_id_that_is_not_a_folder_explains_how_to_download_it()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: passthrough
            models:
              - model: meta-llama/Llama-3.2-1B
            """);
        Assert.Equal(ErrorCodes.ModelNotFound, error.Code);
        Assert.Contains("huggingface-cli download meta-llama/Llama-3.2-1B", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layer_range_past_the_model_is_rejected_at_its_position()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: passthrough
            slices:
              - sources:
                  - model: {models}/shipping
                    layer_range: [2, 6]
            """);
        Assert.Equal(ErrorCodes.InvalidLayerRange, error.Code);
        Assert.Equal(5, error.Location!.Line);
        Assert.Contains("4 layers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Slice_sources_of_different_lengths_are_rejected()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: linear
            slices:
              - sources:
                  - model: {models}/shipping
                    layer_range: [0, 2]
                    parameters: {weight: 1}
                  - model: {models}/refunds
                    layer_range: [0, 3]
                    parameters: {weight: 1}
            """);
        Assert.Equal(ErrorCodes.InvalidLayerRange, error.Code);
        Assert.Equal(7, error.Location!.Line);
    }

    [Fact]
    public void A_missing_required_weight_names_the_model()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: {models}/refunds
            """);
        Assert.Equal(ErrorCodes.MissingParameter, error.Code);
        Assert.Equal(5, error.Location!.Line);
        Assert.Contains("weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("refunds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Different_vocabularies_are_an_error_not_a_silent_truncation()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: linear
            models:
              - model: {models}/catalog
                parameters: {weight: 1}
              - model: {models}/catalog-sku
                parameters: {weight: 1}
            """);
        Assert.Equal(ErrorCodes.VocabularyMismatch, error.Code);
        Assert.Contains("84 tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer_source: union", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void Different_architectures_need_allow_crimes()
    {
        using var temp = new TempFolder();
        var copy = temp.Combine("mistral");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Fixtures.Model("refunds")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        var config = Path.Combine(copy, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("LlamaForCausalLM", "MistralForCausalLM",
            StringComparison.Ordinal));
        var yaml = """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: mistral
                parameters: {weight: 1}
            """;
        var error = Fails(temp, yaml);
        Assert.Equal(ErrorCodes.ArchitectureMismatch, error.Code);
        Assert.Equal(5, error.Location!.Line);
        Assert.Contains("--allow-crimes", error.Hint, StringComparison.Ordinal);

        var plan = MergeBuild.Planning.MergePlanner.Plan(
            MergeBuild.Recipes.RecipeParser.ParseFile(RecipeFiles.Write(temp, yaml)),
            new MergeBuild.Planning.PlanOptions { AllowCrimes = true });
        Assert.Equal(39, plan.Jobs.Count);
    }

    [Fact]
    public void Passthrough_of_two_models_at_once_is_rejected()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: passthrough
            models:
              - model: {models}/shipping
              - model: {models}/refunds
            """);
        Assert.Equal(ErrorCodes.WrongModelCount, error.Code);
        Assert.Contains("slices", error.Hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Linear_with_an_unlisted_base_model_is_rejected()
    {
        using var temp = new TempFolder();
        var error = Fails(temp, """
            merge_method: linear
            base_model: {models}/base
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
            """);
        // mergekit appends the base as one more model, which then lacks the weight linear requires.
        Assert.Equal(ErrorCodes.MissingParameter, error.Code);
        Assert.Equal(2, error.Location!.Line);
        Assert.Contains("base", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_reads_headers_only_and_plans_the_fixture_merge()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1}
              - model: {models}/refunds-sharded
                parameters: {weight: 1}
              - model: {models}/catalog
                parameters: {weight: 1}
            """);
        Assert.Equal(39, plan.Jobs.Count);
        Assert.Equal(808_832, plan.ParameterCount);
        Assert.Equal("model.embed_tokens.weight", plan.Jobs[0].OutputName);
        // Post-layer tensors in name order: lm_head.weight, then model.norm.weight.
        Assert.Equal(["lm_head.weight", "model.norm.weight"], plan.Jobs.TakeLast(2).Select(j => j.OutputName));
        Assert.Equal(3, plan.Models.Count);
        Assert.Same(plan.Models[0], plan.Donor);
    }
}
