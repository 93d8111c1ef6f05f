using MergeBuild.Methods;
using MergeBuild.Recipes;
using MergeBuild.Tensors;

namespace MergeBuild.Core.Tests.Methods;

public class MethodRegistryTests
{
    [Fact]
    public void Every_method_mergekit_registers_can_run()
    {
        string[] mergekit =
        [
            "linear", "task_arithmetic", "ties", "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties", "della",
            "della_linear", "sce", "ram", "ramplus_tl", "slerp", "nuslerp", "multislerp", "karcher", "model_stock",
            "nearswap", "arcee_fusion", "passthrough",
        ];
        Assert.Equal(mergekit.Order(), MergeMethods.Names.Order());
        Assert.Equal(mergekit.Order(), MergeMethodCatalog.All.Select(m => m.Name).Order());
    }

    [Theory]
    [InlineData("ramplus_tl", DType.F32)]
    [InlineData("arcee_fusion", DType.F32)]
    [InlineData("ties", DType.BF16)]
    [InlineData("linear", DType.BF16)]
    public void Bfloat16_results_are_written_in_the_dtype_mergekit_produces(string method, DType expected)
    {
        Assert.True(MergeMethods.TryGet(method, out var implementation));
        Assert.Equal(expected, implementation.DefaultOutputDType(DType.BF16));
    }
}
