using MergeBuild.Eval.Metrics;
using MergeBuild.Eval.Tests.Support;
using MergeBuild.Eval.Tokenization;
using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Metrics;

/// <summary>
/// A union merge that keeps catalog-sku's &lt;SKU&gt; token loads with the inference engine's tokenizer and answers the
/// catalog task on prompts that use the token as well as the reference merge does.
/// </summary>
public class TokenizerUnionEvalTests
{
    [Fact]
    public void Union_merge_encodes_the_sku_token_and_scores_like_the_reference_on_catalog_sku()
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
              - model: {models}/catalog-sku
                parameters: {weight: 1.0, density: 0.5}
            parameters:
              normalize: true
            tokenizer_source: union
            dtype: float32
            out_dtype: bfloat16
            """);
        var output = MergeExecutor.Execute(MergePlanner.Plan(RecipeParser.ParseFile(recipe)), temp.Combine("out"))
            .OutputFolder;

        var ids = TokenizerLoader.Load(output).Encode("catalog: <SKU>RE377 qty=3 ->");
        Assert.Equal(83, ids[1 + "catalog: ".Length]);

        var expected = ExpectedRow.Get("ties-d0.5+sku");
        var result = EvalRunner.Evaluate(output, Fixtures.Eval("catalog_sku"), EvalMetric.ExactMatch);
        Assert.Equal(expected.Results["catalog_sku"].Total, result.N);
        Assert.InRange(result.Correct!.Value, expected.Results["catalog_sku"].Correct - expected.NearTies["catalog_sku"],
            expected.Results["catalog_sku"].Correct + expected.NearTies["catalog_sku"]);
    }
}
