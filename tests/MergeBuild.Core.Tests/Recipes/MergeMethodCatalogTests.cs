using MergeBuild.Recipes;

namespace MergeBuild.Core.Tests.Recipes;

public class MergeMethodCatalogTests
{
    private static readonly string[] MergekitMethods =
    [
        "linear", "task_arithmetic", "ties", "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties", "della",
        "della_linear", "sce", "ram", "ramplus_tl", "slerp", "nuslerp", "multislerp", "karcher", "model_stock",
        "nearswap", "arcee_fusion", "passthrough",
    ];

    private static MergeMethodSpec Get(string name)
    {
        Assert.True(MergeMethodCatalog.TryGet(name, out var spec), name);
        return spec;
    }

    [Fact]
    public void All_twenty_mergekit_methods_exist()
    {
        Assert.Equal(20, MergeMethodCatalog.All.Count);
        Assert.Equal(MergekitMethods.Order(StringComparer.Ordinal), MergeMethodCatalog.All.Select(m => m.Name).Order(StringComparer.Ordinal));
        foreach (var name in MergekitMethods)
        {
            Assert.Equal(name, Get(name).Name);
        }

        Assert.False(MergeMethodCatalog.TryGet("dare-ties", out _));
    }

    [Theory]
    [InlineData("linear", "normalize", 1.0)]
    [InlineData("ties", "normalize", 1.0)]
    [InlineData("ties", "rescale", 0.0)]
    [InlineData("ties", "density", 1.0)]
    [InlineData("ties", "lambda", 1.0)]
    [InlineData("task_arithmetic", "normalize", 0.0)]
    [InlineData("dare_ties", "rescale", 1.0)]
    [InlineData("dare_ties", "normalize", 0.0)]
    [InlineData("dare_linear", "rescale", 1.0)]
    [InlineData("della", "normalize", 1.0)]
    [InlineData("della", "rescale", 1.0)]
    [InlineData("della", "epsilon", 0.15)]
    [InlineData("della_linear", "normalize", 0.0)]
    [InlineData("breadcrumbs", "gamma", 0.01)]
    [InlineData("breadcrumbs_ties", "gamma", 0.01)]
    [InlineData("sce", "select_topk", 1.0)]
    [InlineData("ram", "epsilon", 1e-5)]
    [InlineData("ramplus_tl", "r", 0.1)]
    [InlineData("ramplus_tl", "alpha", 0.2)]
    [InlineData("karcher", "max_iter", 10.0)]
    [InlineData("karcher", "tol", 1e-5)]
    [InlineData("multislerp", "eps", 1e-8)]
    [InlineData("nuslerp", "nuslerp_flatten", 1.0)]
    [InlineData("model_stock", "filter_wise", 0.0)]
    public void Defaults_match_mergekit(string method, string parameter, double expected) =>
        Assert.Equal(expected, Get(method).FindParameter(parameter)!.Default);

    [Fact]
    public void Required_parameters_and_scopes()
    {
        var t = Get("slerp").FindParameter("t")!;
        Assert.True(t.Required);
        Assert.Null(t.Default);
        Assert.Equal(ParameterScope.Global, t.Scope);
        Assert.True(Get("nearswap").FindParameter("t")!.Required);
        Assert.True(Get("linear").FindParameter("weight")!.Required);
        Assert.Equal(ParameterScope.PerModel, Get("ties").FindParameter("density")!.Scope);
        Assert.Equal(ParameterScope.Global, Get("ties").FindParameter("lambda")!.Scope);
        Assert.Null(Get("sce").FindParameter("weight"));
        Assert.Empty(Get("arcee_fusion").Parameters);
        Assert.True(Get("karcher").FindParameter("max_iter")!.IsInteger);
        Assert.True(Get("ties").FindParameter("normalize")!.IsBoolean);
    }

    [Fact]
    public void Model_counts_and_base_model_use()
    {
        var slerp = Get("slerp");
        Assert.Equal((BaseModelUse.Required, 1, (int?)1), (slerp.BaseModel, slerp.MinModels, slerp.MaxModels));
        var nuslerp = Get("nuslerp");
        Assert.Equal((BaseModelUse.Optional, 2, (int?)2), (nuslerp.BaseModel, nuslerp.MinModels, nuslerp.MaxModels));
        Assert.Equal(2, Get("model_stock").MinModels);
        Assert.Null(Get("ties").MaxModels);
        Assert.Equal(BaseModelUse.NotUsed, Get("linear").BaseModel);
        // karcher averages a base_model in as one more model, so the planner must keep it among the inputs.
        var karcher = Get("karcher");
        Assert.Equal((BaseModelUse.NotUsed, 2, (int?)null), (karcher.BaseModel, karcher.MinModels, karcher.MaxModels));
        var nearswap = Get("nearswap");
        Assert.Equal((BaseModelUse.Required, 1, (int?)1), (nearswap.BaseModel, nearswap.MinModels, nearswap.MaxModels));
        Assert.Equal(BaseModelUse.Required, Get("model_stock").BaseModel);
        Assert.Equal((BaseModelUse.Optional, 1), (Get("multislerp").BaseModel, Get("multislerp").MinModels));
    }

    [Theory]
    [InlineData("ties", "density", 0.0, true)]
    [InlineData("ties", "density", 1.0, true)]
    [InlineData("ties", "density", 1.5, false)]
    [InlineData("ties", "density", -0.1, false)]
    [InlineData("slerp", "t", -0.2, false)]
    [InlineData("linear", "weight", -3.0, true)]
    [InlineData("della", "epsilon", -0.01, false)]
    [InlineData("sce", "select_topk", 0.0, false)]
    [InlineData("ties", "lambda", double.NaN, false)]
    public void Ranges(string method, string parameter, double value, bool ok) =>
        Assert.Equal(ok, Get(method).FindParameter(parameter)!.IsInRange(value));
}
