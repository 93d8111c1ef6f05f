using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class MultiDocumentTests
{
    private const string TwoSteps = """
        name: ship-refunds
        merge_method: linear
        models:
          - model: {models}/shipping
            parameters: {weight: 1.0}
          - model: {models}/refunds
            parameters: {weight: 1.0}
        dtype: float32
        ---
        merge_method: linear
        models:
          - model: ship-refunds
            parameters: {weight: 2.0}
          - model: {models}/catalog
            parameters: {weight: 1.0}
        dtype: float32
        out_dtype: bfloat16
        """;

    [Fact]
    public void A_later_document_merges_the_output_of_an_earlier_one_by_name()
    {
        using var temp = new TempFolder();
        var recipes = RecipeParser.ParseFile(RecipeFiles.Write(temp, TwoSteps));
        var done = new List<string>();
        var result = RecipeMerge.Execute(recipes, temp.Combine("out"), intermediateDirectory: temp.Combine("steps"),
            documentDone: (document, _) => done.Add(document.Name ?? "final"));

        Assert.Equal(["ship-refunds", "final"], done);
        var a = RawSafetensors.ReadFolder(Fixtures.Model("shipping"));
        var b = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        var c = RawSafetensors.ReadFolder(Fixtures.Model("catalog"));
        var intermediate = RawSafetensors.ReadFolder(temp.Combine("steps", "ship-refunds"));
        var merged = RawSafetensors.ReadFolder(result.OutputFolder);
        foreach (var (name, tensor) in merged)
        {
            var x = a[name].AsFloats();
            var y = b[name].AsFloats();
            var z = c[name].AsFloats();
            // Step 1 stays float32 (dtype float32, no out_dtype); step 2 averages it with weight 2 against catalog.
            var step1 = x.Select((_, i) => (x[i] + y[i]) / 2f).ToArray();
            Assert.Equal(step1, intermediate[name].AsFloats());
            var expected = step1.Select((_, i) => (2f * step1[i] + 1f * z[i]) / 3f);
            Assert.Equal(Bf16.Encode(expected), tensor.Data);
        }
    }

    [Fact]
    public void Temporary_intermediates_are_removed_after_the_merge()
    {
        using var temp = new TempFolder();
        var recipes = RecipeParser.ParseFile(RecipeFiles.Write(temp, TwoSteps));
        RecipeMerge.Execute(recipes, temp.Combine("out"));
        Assert.Equal(["out"], Directory.GetDirectories(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Planning_a_document_before_its_input_exists_says_to_merge_the_whole_recipe()
    {
        using var temp = new TempFolder();
        var recipes = RecipeParser.ParseFile(RecipeFiles.Write(temp, TwoSteps));
        var error = Assert.Throws<MergeBuildException>(() => MergePlanner.Plan(recipes));
        Assert.Equal(ErrorCodes.ModelNotFound, error.Code);
        Assert.Equal(12, error.Location!.Line);
    }
}
