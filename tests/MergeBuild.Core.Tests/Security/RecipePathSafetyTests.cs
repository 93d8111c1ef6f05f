using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Security;

/// <summary>
/// A recipe may name any input path (it is read, never written) but can make MergeBuild write only inside the output
/// folder (and the intermediate folder beside it that it deletes): `../` model paths change nothing outside, and a
/// document name — which becomes an intermediate folder — that climbs out or is absolute is refused.
/// </summary>
public sealed class RecipePathSafetyTests
{
    // Every file under a folder with its size and write time, to show nothing outside the output changed.
    private static SortedDictionary<string, (long, DateTime)> Listing(string folder) =>
        new(Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f))), StringComparer.Ordinal);

    [Theory]
    [InlineData("../escaped")]
    [InlineData("/tmp/absolute")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("a\\\\b")]
    public void A_document_name_that_is_not_a_plain_folder_name_is_refused(string name)
    {
        var yaml = $"""
            name: "{name}"
            merge_method: linear
            models:
              - model: a
                parameters: {"{"}weight: 1{"}"}
            ---
            merge_method: linear
            models:
              - model: b
                parameters: {"{"}weight: 1{"}"}
            """;

        var error = Assert.Throws<MergeBuildException>(() => RecipeParser.Parse(yaml, "multi.yml"));

        Assert.Equal(ErrorCodes.InvalidValue, error.Code);
        Assert.Equal(1, error.Location?.Line);
        Assert.Contains("folder name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_model_paths_that_climb_out_are_read_and_nothing_outside_the_output_is_written()
    {
        using var temp = new TempFolder();
        var recipes = Directory.CreateDirectory(temp.Combine("recipes", "deep")).FullName;
        string Up(string model) => Path.GetRelativePath(recipes, Fixtures.Model(model)).Replace('\\', '/');
        var recipePath = Path.Combine(recipes, "multi.yml");
        File.WriteAllText(recipePath, $"""
            name: stage1
            merge_method: linear
            models:
              - model: {Up("shipping")}
                parameters: {"{"}weight: 1{"}"}
              - model: {Up("refunds")}
                parameters: {"{"}weight: 1{"}"}
            ---
            merge_method: linear
            models:
              - model: stage1
                parameters: {"{"}weight: 1{"}"}
              - model: {Up("catalog")}
                parameters: {"{"}weight: 1{"}"}
            """);
        Assert.StartsWith("../../", Up("shipping"), StringComparison.Ordinal);
        var fixturesBefore = Listing(Fixtures.Root);
        var tempBefore = Listing(temp.Path);

        var result = RecipeMerge.Execute(RecipeParser.ParseFile(recipePath), temp.Combine("out", "merged"));

        Assert.Equal(fixturesBefore, Listing(Fixtures.Root));
        // New files: the output's, plus the commit lock file beside it (empty; see CommitLock).
        var added = Listing(temp.Path).Keys.Except(tempBefore.Keys).ToList();
        var lockFile = temp.Combine("out", ".merged.mergebuild.lock");
        Assert.Contains(lockFile, added);
        Assert.Equal(0, new FileInfo(lockFile).Length);
        Assert.All(added.Where(f => f != lockFile),
            file => Assert.StartsWith(result.OutputFolder + Path.DirectorySeparatorChar, file, StringComparison.Ordinal));
        Assert.True(added.Count > 5);
        Assert.Equal(["merged"], Directory.GetDirectories(temp.Combine("out")).Select(Path.GetFileName));
    }
}
