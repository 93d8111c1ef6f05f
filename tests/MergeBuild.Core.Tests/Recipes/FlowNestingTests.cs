using MergeBuild.Diagnostics;
using MergeBuild.Recipes;

namespace MergeBuild.Core.Tests.Recipes;

/// <summary>Deep flow nesting is refused before YamlDotNet's scanner, which is slow on it (found by fuzzing).</summary>
public class FlowNestingTests
{
    [Theory]
    [InlineData("[", "]")]
    [InlineData("{\"a\":", "}")]
    public void Flow_collections_nested_past_the_limit_are_a_syntax_error_at_the_first_bracket_too_many(string open, string close)
    {
        var yaml = "merge_method: linear\nparameters:\n  x: " + string.Concat(Enumerable.Repeat(open, 65)) + "1" +
                   string.Concat(Enumerable.Repeat(close, 65)) + "\n";
        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.Parse(yaml, "deep.yml"));

        Assert.Equal(ErrorCodes.RecipeSyntax, error.Code);
        Assert.Contains("more than 64 levels", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, error.Location?.Line);
        // "  x: " is five columns; the 65th opening bracket starts after 64 of them.
        Assert.Equal(5 + (64 * open.Length) + 1, error.Location?.Column);
    }

    [Theory]
    [InlineData("  x: '" + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" + "'\n")]
    [InlineData("  x: \"" + "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{" + "\"\n")]
    [InlineData("  # " + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" + "\n  x: 1\n")]
    public void Brackets_inside_quoted_scalars_and_comments_do_not_count(string parameters)
    {
        var yaml = "merge_method: linear\nmodels:\n  - model: a\nparameters:\n" + parameters;
        var error = Record.Exception(() => RecipeParser.Parse(yaml, "quoted.yml"));

        // Whatever else the recipe gets wrong, it is not nesting.
        Assert.DoesNotContain("levels deep", error?.Message ?? "", StringComparison.Ordinal);
    }
}
