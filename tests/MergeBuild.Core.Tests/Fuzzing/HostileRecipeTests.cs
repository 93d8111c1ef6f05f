using System.Diagnostics;
using System.Text;
using MergeBuild.Diagnostics;
using MergeBuild.Fingerprints;
using MergeBuild.Recipes;
using YamlDotNet.Core;

namespace MergeBuild.Core.Tests.Fuzzing;

/// <summary>
/// Recipes built to exhaust the parser (found by fuzzing or written from the known YAML attacks) fail fast with
/// MB2002 at a position, while ordinary anchors and aliases keep working.
/// </summary>
public sealed class HostileRecipeTests
{
    private const string File = "hostile.yml";

    private static MergeBuildException Rejects(string yaml)
    {
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.Parse(yaml, File));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
        Assert.Equal(ErrorCodes.RecipeSyntax, error.Code);
        Assert.Equal(File, error.Location?.File);
        return error;
    }

    // Anchors that each alias the previous one twice: 2^levels nodes once expanded.
    private static string AliasBomb(int levels)
    {
        var yaml = new StringBuilder("merge_method: linear\nbomb0: &a0 [x, x]\n");
        for (var i = 1; i < levels; i++)
        {
            yaml.Append($"bomb{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n");
        }

        return yaml.ToString();
    }

    [Fact]
    public void Nesting_ten_thousand_levels_deep_is_refused_before_the_loader_recurses()
    {
        var error = Rejects("models: " + new string('[', 10_000) + new string(']', 10_000));

        Assert.Contains("64 levels", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.Location?.Line);
    }

    [Fact]
    public void An_alias_bomb_is_refused_by_its_expanded_size()
    {
        var error = Rejects(AliasBomb(40));

        Assert.Contains("expands to more than 100,000 nodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fingerprint_walk_applies_the_same_bound()
    {
        var clock = Stopwatch.StartNew();
        Assert.ThrowsAny<YamlException>(() => CanonicalRecipe.Of(AliasBomb(40)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("merge_method: linear\nmodels: *later\nlater: &later [a]\n", "*later")]
    [InlineData("merge_method: linear\nmodels: &self [*self]\n", "*self")]
    [InlineData("merge_method: linear\nmodels: *nowhere\n", "*nowhere")]
    public void Forward_self_and_undefined_aliases_are_refused(string yaml, string alias)
    {
        var error = Rejects(yaml);

        Assert.Contains($"'{alias}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_YamlDotNet_loader_ArgumentException_becomes_a_positioned_syntax_error()
    {
        // Found by fuzzing (then reduced by deleting characters while the failure stayed): a NUL before a mapping
        // colon makes YamlDotNet's node loader throw a bare ArgumentException ("unsupported type" of event).
        var error = Rejects("\0: a");

        Assert.True(error.Location?.Line >= 1);
    }

    [Fact]
    public void A_huge_unknown_method_name_is_refused_without_comparing_it_to_every_method()
    {
        // Found by fuzzing as a 2 s "hang" under load: the did-you-mean distance ran over all 60 000 characters.
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<MergeBuildException>(() =>
            RecipeParser.Parse("merge_method: " + new string('x', 60_000) + "\nmodels:\n  - model: a\n", File));

        Assert.Equal(ErrorCodes.UnknownMethod, error.Code);
        Assert.DoesNotContain("did you mean", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Ordinary_anchors_and_aliases_still_parse()
    {
        var recipes = RecipeParser.Parse("""
            merge_method: linear
            models:
              - model: a
                parameters: &same {weight: 0.5}
              - model: b
                parameters: *same
            """, File);

        Assert.Equal(2, recipes.Final.Models.Count);
    }
}
