using System.Text.Json;
using MergeBuild.Core.Tests.Execution;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Tokenizers;

/// <summary>
/// A union merge of the fixture specialists where catalog-sku adds &lt;SKU&gt;: the token keeps catalog-sku's id and
/// rows, every other row and tensor is what the merge without the token gives.
/// </summary>
public class UnionMergeTests
{
    private const string Embed = "model.embed_tokens.weight";
    private const string Head = "lm_head.weight";
    private const int Hidden = 128;

    internal static string TiesRecipe(string tokenizer = "tokenizer_source: union") => $$"""
        merge_method: ties
        base_model: {models}/base
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0, density: 0.5}
          - model: {models}/refunds
            parameters: {weight: 1.0, density: 0.5}
          - model: {models}/catalog-sku
            parameters: {weight: 1.0, density: 0.5}
        parameters:
          normalize: true
        {{tokenizer}}
        dtype: float32
        out_dtype: bfloat16
        """;

    internal static string LinearRecipe(string tokenizer) => $$"""
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/refunds
            parameters: {weight: 1.0}
          - model: {models}/catalog-sku
            parameters: {weight: 1.0}
        {{tokenizer}}
        dtype: float32
        out_dtype: bfloat16
        """;

    /// <summary>Token → id from a tokenizer.json, read independently of the code under test.</summary>
    internal static Dictionary<string, int> VocabularyOf(string folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer.json")));
        var vocabulary = json.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetInt32());
        foreach (var added in json.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            vocabulary[added.GetProperty("content").GetString()!] = added.GetProperty("id").GetInt32();
        }

        return vocabulary;
    }

    internal static int ConfigVocabSize(string folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
        return json.RootElement.GetProperty("vocab_size").GetInt32();
    }

    [Fact]
    public void The_fixtures_are_what_the_tests_assume()
    {
        var baseVocabulary = VocabularyOf(Fixtures.Model("base"));
        var sku = VocabularyOf(Fixtures.Model("catalog-sku"));
        Assert.Equal(83, baseVocabulary.Count);
        Assert.Equal(Enumerable.Range(0, 83), baseVocabulary.Values.Order());
        Assert.Equal(83, sku["<SKU>"]);
        Assert.All(baseVocabulary, t => Assert.Equal(t.Value, sku[t.Key]));
        // catalog-sku was fine-tuned separately: its weights are not catalog's, so "the merge without <SKU>" is
        // computed in these tests rather than taken from the catalog merge.
        Assert.NotEqual(RawSafetensors.ReadFolder(Fixtures.Model("catalog"))["model.norm.weight"].Data,
            RawSafetensors.ReadFolder(Fixtures.Model("catalog-sku"))["model.norm.weight"].Data);
    }

    [Fact]
    public void Ties_union_merge_is_bit_identical_to_the_reference_merge_with_the_sku_token()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, TiesRecipe());

        var merged = RawSafetensors.ReadFolder(output);
        var reference = RawSafetensors.ReadFolder(Fixtures.ExpectedMerge("ties-d0.5+sku"));
        Assert.Equal(reference.Keys.Order(), merged.Keys.Order());
        foreach (var (name, tensor) in reference)
        {
            Assert.Equal(tensor.Shape, merged[name].Shape);
            Assert.True(tensor.Data.AsSpan().SequenceEqual(merged[name].Data), $"{name} differs from the reference");
        }

        Assert.Equal(83, VocabularyOf(output)["<SKU>"]);
        Assert.Equal(VocabularyOf(Fixtures.ExpectedMerge("ties-d0.5+sku")), VocabularyOf(output));
        Assert.Equal(84, ConfigVocabSize(output));
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json" })
        {
            Assert.Equal(File.ReadAllText(Path.Combine(Fixtures.ExpectedMerge("ties-d0.5+sku"), file)),
                File.ReadAllText(Path.Combine(output, file)));
        }
    }

    [Fact]
    public void Sku_rows_come_from_catalog_sku_and_the_other_rows_are_the_linear_merge_without_it()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, LinearRecipe("tokenizer_source: union"));
        var merged = RawSafetensors.ReadFolder(output);
        var shipping = RawSafetensors.ReadFolder(Fixtures.Model("shipping"));
        var refunds = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        var sku = RawSafetensors.ReadFolder(Fixtures.Model("catalog-sku"));

        foreach (var name in new[] { Embed, Head })
        {
            Assert.Equal([84L, Hidden], merged[name].Shape);
            var (a, b, c) = (shipping[name].AsFloats(), refunds[name].AsFloats(), sku[name].AsFloats());
            // Rows 0..82: the weighted mean of the three models (weights 1, computed in float32, rounded once).
            var expected = Enumerable.Range(0, 83 * Hidden).Select(i => (a[i] + b[i] + c[i]) / 3f).ToList();
            // Row 83: only catalog-sku has <SKU>, so every model's re-indexed row is catalog-sku's; their mean is that row.
            expected.AddRange(c.Skip(83 * Hidden).Take(Hidden));
            Assert.Equal(Bf16.Encode(expected), merged[name].Data);
            Assert.Equal(sku[name].Data.AsSpan(83 * Hidden * 2, Hidden * 2).ToArray(),
                merged[name].Data.AsSpan(83 * Hidden * 2, Hidden * 2).ToArray());
        }

        foreach (var (name, tensor) in merged.Where(t => t.Key is not Embed and not Head))
        {
            var (a, b, c) = (shipping[name].AsFloats(), refunds[name].AsFloats(), sku[name].AsFloats());
            Assert.Equal(Bf16.Encode(a.Select((_, i) => (a[i] + b[i] + c[i]) / 3f)), tensor.Data);
        }
    }

    [Fact]
    public void Base_policy_drops_the_sku_token_with_a_warning()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, LinearRecipe("tokenizer_source: base"));
        var warning = Assert.Single(plan.Warnings);
        Assert.Contains("'<SKU>'", warning, StringComparison.Ordinal);
        Assert.Contains("catalog-sku", warning, StringComparison.Ordinal);
        Assert.Contains("union", warning, StringComparison.Ordinal);

        var output = MergeExecutor.Execute(plan, temp.Combine("out")).OutputFolder;
        Assert.False(VocabularyOf(output).ContainsKey("<SKU>"));
        Assert.Equal(VocabularyOf(Fixtures.Model("shipping")), VocabularyOf(output));
        Assert.Equal(83, ConfigVocabSize(output));
        var merged = RawSafetensors.ReadFolder(output);
        Assert.Equal([83L, Hidden], merged[Embed].Shape);
        Assert.DoesNotContain("<SKU>", File.ReadAllText(Path.Combine(output, "tokenizer_config.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void Padding_rows_are_the_mean_of_each_models_real_rows()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, LinearRecipe("""
            tokenizer:
              source: union
              pad_to_multiple_of: 64
            """));
        Assert.Equal(128, ConfigVocabSize(output));
        Assert.Equal(84, VocabularyOf(output).Count);
        var merged = RawSafetensors.ReadFolder(output);
        var models = new[] { "shipping", "refunds", "catalog-sku" }.Select(m => RawSafetensors.ReadFolder(Fixtures.Model(m))).ToList();
        foreach (var name in new[] { Embed, Head })
        {
            Assert.Equal([128L, Hidden], merged[name].Shape);
            var skuRow = models[2][name].AsFloats().Skip(83 * Hidden).Take(Hidden).ToArray();
            // Each model's padding row: the column mean of its 84 re-indexed rows (its own 83 plus the <SKU> row).
            var paddings = models.Select(m =>
            {
                var rows = m[name].AsFloats().Take(83 * Hidden).Concat(skuRow).ToArray();
                return Enumerable.Range(0, Hidden).Select(e => (float)Enumerable.Range(0, 84).Average(r => (double)rows[r * Hidden + e])).ToArray();
            }).ToList();
            var expected = Bf16.Encode(Enumerable.Range(0, Hidden).Select(e => (paddings[0][e] + paddings[1][e] + paddings[2][e]) / 3f));
            for (var row = 84; row < 128; row++)
            {
                Assert.Equal(expected, merged[name].Data.AsSpan(row * Hidden * 2, Hidden * 2).ToArray());
            }
        }
    }

    [Fact]
    public void Forced_zero_source_replaces_every_models_row()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, LinearRecipe("""
            tokenizer:
              source: union
              tokens:
                "<SKU>": {source: {kind: zero}, force: true}
            """));
        var merged = RawSafetensors.ReadFolder(output);
        Assert.All(merged[Embed].Data.AsSpan(83 * Hidden * 2, Hidden * 2).ToArray(), b => Assert.Equal(0, b));
        Assert.NotEqual(0, merged[Embed].Data.AsSpan(82 * Hidden * 2, Hidden * 2).ToArray().Count(b => b != 0));
    }

    [Fact]
    public void Same_recipe_gives_the_same_ids_and_bytes_on_every_run_and_ignores_unrelated_order()
    {
        using var temp = new TempFolder();
        var first = MergeRunner.Merge(temp, LinearRecipe("tokenizer_source: union"), output: "a");
        var second = MergeRunner.Merge(temp, LinearRecipe("tokenizer_source: union"), output: "b");
        // Keys in another order, the tokenizer setting first, the output options before the models.
        var reordered = MergeRunner.Merge(temp, """
            tokenizer: {source: union}
            out_dtype: bfloat16
            dtype: float32
            models:
              - parameters: {weight: 1.0}
                model: {models}/shipping
              - parameters: {weight: 1.0}
                model: {models}/refunds
              - parameters: {weight: 1.0}
                model: {models}/catalog-sku
            merge_method: linear
            """, output: "c");
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json", "model.safetensors" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(first, file));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(second, file)));
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(reordered, file)));
        }
    }

    [Fact]
    public void Mismatched_vocabularies_without_a_policy_name_the_models_sizes_and_policies()
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<MergeBuildException>(() => MergeRunner.Plan(temp, LinearRecipe("")));
        Assert.Equal(ErrorCodes.VocabularyMismatch, error.Code);
        Assert.Contains("catalog-sku' has 84 tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("shipping' has 83", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer_source: union", error.Hint!, StringComparison.Ordinal);
        Assert.Contains("tokenizer_source: base", error.Hint!, StringComparison.Ordinal);
        Assert.True(error.Location!.Line > 0);
    }

    [Fact]
    public void Same_size_vocabularies_with_different_tokens_are_an_error_too()
    {
        using var temp = new TempFolder();
        var copy = temp.Combine("swapped");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Fixtures.Model("refunds")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        var tokenizer = Path.Combine(copy, "tokenizer.json");
        File.WriteAllText(tokenizer, File.ReadAllText(tokenizer)
            .Replace("\"a\": 5", "\"@\": 5", StringComparison.Ordinal));
        var error = Assert.Throws<MergeBuildException>(() => MergeRunner.Plan(temp, $$"""
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters: {weight: 1.0}
              - model: {{copy.Replace('\\', '/')}}
                parameters: {weight: 1.0}
            """));
        Assert.Equal(ErrorCodes.VocabularyMismatch, error.Code);
        Assert.Contains("'@'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_source_model_must_have_the_token()
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<MergeBuildException>(() => MergeRunner.Plan(temp, LinearRecipe("""
            tokenizer:
              tokens:
                "<SKU>": {source: {models}/shipping}
            """)));
        Assert.Equal(ErrorCodes.TokenNotFound, error.Code);
        Assert.Contains("<SKU>", error.Message, StringComparison.Ordinal);
        Assert.True(error.Location!.Line > 0);
    }

    [Fact]
    public void Plan_reports_the_output_vocabulary_and_marks_only_embedding_tensors_for_reindexing()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, LinearRecipe("tokenizer_source: union"));
        Assert.NotNull(plan.Vocabulary);
        Assert.Equal(84, plan.Vocabulary.Rows);
        Assert.Equal([Head, Embed], plan.Jobs.Where(j => j.Vocabulary is not null).Select(j => j.OutputName).Order(StringComparer.Ordinal));
        var sku = plan.Models.Single(m => m.Reference.Text.EndsWith("catalog-sku", StringComparison.Ordinal));
        var shipping = plan.Models.Single(m => m.Reference.Text.EndsWith("shipping", StringComparison.Ordinal));
        Assert.Equal(83, plan.Vocabulary.Permutations[sku][83]);
        Assert.Equal(-1, plan.Vocabulary.Permutations[shipping][83]);
        Assert.Equal(Enumerable.Range(0, 83), plan.Vocabulary.Permutations[shipping].Take(83));
    }
}
