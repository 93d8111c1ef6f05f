using MergeBuild.Recipes;

namespace MergeBuild.Core.Tests.Recipes;

public class DidYouMeanTests
{
    [Theory]
    [InlineData("merge_methd", "merge_method")]
    [InlineData("dare-ties", "dare_ties")]
    [InlineData("TIES", "ties")]
    [InlineData("wieght", "weight")]
    [InlineData("densty", "density")]
    [InlineData("completely_different", null)]
    [InlineData("", null)]
    public void Suggests_close_names_only(string input, string? expected) =>
        Assert.Equal(expected, DidYouMean.Suggest(input, ["merge_method", "dare_ties", "ties", "weight", "density", "models"]));
}
