using System.Text.Json.Nodes;
using MergeBuild.Core.Tests.Execution;
using MergeBuild.Diagnostics;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Tokenizers;

public class ChatTemplateTests
{
    private static string Recipe(string modelsRoot, string chatTemplate) => $"""
        merge_method: linear
        models:
          - model: {modelsRoot}/shipping
            parameters: {"{"}weight: 1.0{"}"}
          - model: {modelsRoot}/refunds
            parameters: {"{"}weight: 1.0{"}"}
          - model: {modelsRoot}/catalog
            parameters: {"{"}weight: 1.0{"}"}
        chat_template: {chatTemplate}
        """;

    private static JsonObject TokenizerConfig(string folder) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer_config.json")))!;

    [Fact]
    public void A_built_in_name_writes_that_template_and_leaves_the_rest_of_the_tokenizer_alone()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, Recipe("{models}", "chatml"));

        var config = TokenizerConfig(output);
        var template = config["chat_template"]!.GetValue<string>();
        Assert.Contains("<|im_start|>", template, StringComparison.Ordinal);
        Assert.Contains("add_generation_prompt", template, StringComparison.Ordinal);
        config.Remove("chat_template");
        Assert.True(JsonNode.DeepEquals(TokenizerConfig(Fixtures.Model("shipping")), config));
        Assert.Equal(File.ReadAllBytes(Path.Combine(Fixtures.Model("shipping"), "tokenizer.json")),
            File.ReadAllBytes(Path.Combine(output, "tokenizer.json")));
    }

    [Fact]
    public void A_literal_template_is_written_verbatim()
    {
        using var temp = new TempFolder();
        const string literal = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\\n{% endfor %}";
        var output = MergeRunner.Merge(temp, Recipe("{models}", $"\"{literal}\""));

        Assert.Equal(literal.Replace("\\n", "\n", StringComparison.Ordinal),
            TokenizerConfig(output)["chat_template"]!.GetValue<string>());
    }

    [Fact]
    public void Auto_picks_the_template_most_models_share()
    {
        using var temp = new TempFolder();
        var models = temp.Combine("models");
        var templates = new Dictionary<string, string>
        {
            ["shipping"] = "{{ 'B' }} {% for m in messages %}{{ m.content }}{% endfor %}",
            ["refunds"] = "{{ 'A' }} {% for m in messages %}{{ m.content }}{% endfor %}",
            ["catalog"] = "  {{ 'A' }} {% for m in messages %}{{ m.content }}{% endfor %}\n",
        };
        foreach (var (name, template) in templates)
        {
            var folder = Path.Combine(models, name);
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.GetFiles(Fixtures.Model(name)))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }

            var config = TokenizerConfig(folder);
            config["chat_template"] = template;
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
        }

        var output = MergeRunner.Merge(temp, Recipe(models.Replace('\\', '/'), "auto"));

        // Two models share the A template once surrounding whitespace is stripped; the first model's B loses.
        Assert.Equal(templates["refunds"], TokenizerConfig(output)["chat_template"]!.GetValue<string>());
    }

    [Fact]
    public void An_unknown_name_is_an_error_listing_the_built_in_names()
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<MergeBuildException>(() => MergeRunner.Plan(temp, Recipe("{models}", "chatm1")));
        Assert.Equal(ErrorCodes.InvalidValue, error.Code);
        Assert.Equal(9, error.Location!.Line);
        Assert.Contains("chatml", error.Hint!, StringComparison.Ordinal);
        Assert.Contains("llama3", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void A_template_applies_to_a_merged_vocabulary_too()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, UnionMergeTests.LinearRecipe("tokenizer_source: union\nchat_template: llama3"));
        var config = TokenizerConfig(output);
        Assert.Contains("<|eot_id|>", config["chat_template"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("<SKU>", config["added_tokens_decoder"]!["83"]!["content"]!.GetValue<string>());
    }
}
