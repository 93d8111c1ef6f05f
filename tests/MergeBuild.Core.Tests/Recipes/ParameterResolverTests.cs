using MergeBuild.Diagnostics;
using MergeBuild.Recipes;

namespace MergeBuild.Core.Tests.Recipes;

public class ParameterResolverTests
{
    private const string Tensor = "model.layers.2.mlp.up_proj.weight";
    private static readonly SourceLocation At = new("r.yml", 1, 1);

    private static ParameterMap Map(params (string Name, ParameterSetting Setting)[] entries) =>
        new(entries.Select(e => new KeyValuePair<string, ParameterSetting>(e.Name, e.Setting)));

    private static ScalarSetting Value(double number) => new(number, null, At);

    private static ConditionalSetting OnlyFor(string filter, double number) => new([new ConditionalEntry(filter, Value(number), At)], At);

    [Fact]
    public void Source_beats_slice_beats_top_level()
    {
        var source = Map(("weight", Value(0.1)));
        var slice = Map(("weight", Value(0.2)));
        var top = Map(("weight", Value(0.3)));

        Assert.Equal(0.1, ParameterResolver.ResolvePerModel("weight", source, slice, top, Tensor, 0));
        Assert.Equal(0.2, ParameterResolver.ResolvePerModel("weight", ParameterMap.Empty, slice, top, Tensor, 0));
        Assert.Equal(0.3, ParameterResolver.ResolvePerModel("weight", ParameterMap.Empty, null, top, Tensor, 0));
        Assert.Null(ParameterResolver.ResolvePerModel("weight", ParameterMap.Empty, null, ParameterMap.Empty, Tensor, 0));
    }

    [Fact]
    public void The_method_default_comes_last()
    {
        Assert.True(MergeMethodCatalog.TryGet("ties", out var ties));
        var density = ties.FindParameter("density")!;
        var normalize = ties.FindParameter("normalize")!;
        var top = Map(("density", Value(0.5)));

        Assert.Equal(0.5, ParameterResolver.ResolvePerModel(density, ParameterMap.Empty, null, top, Tensor, 0));
        Assert.Equal(1.0, ParameterResolver.ResolvePerModel(density, ParameterMap.Empty, null, ParameterMap.Empty, Tensor, 0));
        Assert.Equal(1.0, ParameterResolver.ResolveGlobal(normalize, null, ParameterMap.Empty, Tensor, 0));
        Assert.Null(ParameterResolver.ResolvePerModel(ties.FindParameter("weight")!, ParameterMap.Empty, null, ParameterMap.Empty, Tensor, 0));
    }

    [Fact]
    public void Global_parameters_never_read_a_models_own_parameters()
    {
        var top = Map(("t", Value(0.3)));
        var slice = Map(("t", Value(0.6)));

        Assert.Equal(0.6, ParameterResolver.ResolveGlobal("t", slice, top, Tensor, 0));
        Assert.Equal(0.3, ParameterResolver.ResolveGlobal("t", null, top, Tensor, 0));
        Assert.Equal(0.3, ParameterResolver.ResolveGlobal("t", ParameterMap.Empty, top, Tensor, 0));
        Assert.Null(ParameterResolver.ResolveGlobal("t", null, ParameterMap.Empty, Tensor, 0));
    }

    [Fact]
    public void Unmatched_conditional_falls_through_to_the_next_level()
    {
        var source = Map(("density", OnlyFor("self_attn", 0.9)));
        var slice = Map(("density", OnlyFor("lm_head", 0.8)));
        var top = Map(("density", Value(0.4)));

        // Neither filter matches an mlp tensor: source and slice are skipped, the top level applies.
        Assert.Equal(0.4, ParameterResolver.ResolvePerModel("density", source, slice, top, Tensor, 0));
        Assert.Equal(0.9, ParameterResolver.ResolvePerModel("density", source, slice, top, "model.layers.2.self_attn.o_proj.weight", 0));
    }

    [Fact]
    public void Gradients_are_evaluated_at_the_given_position()
    {
        var top = Map(("t", new GradientSetting([0.0, 1.0, 0.0], At)));

        Assert.Equal(0.5, ParameterResolver.ResolveGlobal("t", null, top, Tensor, 0.25));
        Assert.Equal(1.0, ParameterResolver.ResolveGlobal("t", null, top, Tensor, 0.5));
        Assert.Equal(0.0, ParameterResolver.ResolveGlobal("t", null, top, "model.embed_tokens.weight", 0));
    }

    [Fact]
    public void Parsed_recipe_resolves_with_mergekit_precedence()
    {
        var recipe = RecipeParser.Parse("""
            merge_method: ties
            base_model: base
            models:
              - model: a
                parameters:
                  weight: 0.7
              - model: b
            parameters:
              weight: 0.2
              density:
                - filter: mlp
                  value: 0.3
              normalize: false
            """, "r.yml").Final;

        var a = recipe.Models[0].Parameters;
        var b = recipe.Models[1].Parameters;
        Assert.Equal(0.7, ParameterResolver.ResolvePerModel("weight", a, null, recipe.Parameters, Tensor, 0));
        Assert.Equal(0.2, ParameterResolver.ResolvePerModel("weight", b, null, recipe.Parameters, Tensor, 0));
        Assert.Equal(0.3, ParameterResolver.ResolvePerModel("density", b, null, recipe.Parameters, Tensor, 0));
        Assert.Null(ParameterResolver.ResolvePerModel("density", b, null, recipe.Parameters, "model.norm.weight", 0));
        Assert.Equal(0.0, ParameterResolver.ResolveGlobal("normalize", null, recipe.Parameters, Tensor, 0));
    }
}
