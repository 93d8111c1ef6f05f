using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class EmbeddingTruncationTests
{
    [Fact]
    public void Opting_in_cuts_embeddings_to_the_common_rows_as_mergekit_does()
    {
        using var temp = new TempFolder();
        var recipe = RecipeFiles.Write(temp, """
            merge_method: linear
            models:
              - model: {models}/catalog
                parameters: {weight: 1.0}
              - model: {models}/catalog-sku
                parameters: {weight: 1.0}
            dtype: float32
            out_dtype: bfloat16
            """);
        var plan = MergePlanner.Plan(RecipeParser.ParseFile(recipe), new PlanOptions { TruncateEmbeddings = true });
        Assert.Equal(2, plan.Warnings.Count);
        var output = MergeExecutor.Execute(plan, temp.Combine("out")).OutputFolder;

        var a = RawSafetensors.ReadFolder(Fixtures.Model("catalog"));
        var b = RawSafetensors.ReadFolder(Fixtures.Model("catalog-sku"));
        var merged = RawSafetensors.ReadFolder(output);
        foreach (var name in new[] { "model.embed_tokens.weight", "lm_head.weight" })
        {
            Assert.Equal([83L, 128L], merged[name].Shape);
            var x = a[name].AsFloats();
            var y = b[name].AsFloats().Take(83 * 128).ToArray();
            Assert.Equal(Bf16.Encode(x.Select((_, i) => (x[i] + y[i]) / 2f)), merged[name].Data);
        }
    }
}
