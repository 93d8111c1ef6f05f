using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

/// <summary>Plans and executes a recipe written into a temporary folder.</summary>
internal static class MergeRunner
{
    public static string Merge(TempFolder temp, string yaml, MergeOptions? options = null, string output = "out")
    {
        var recipe = RecipeFiles.Write(temp, yaml);
        var plan = MergePlanner.Plan(RecipeParser.ParseFile(recipe));
        return MergeExecutor.Execute(plan, temp.Combine(output), options).OutputFolder;
    }

    public static MergePlan Plan(TempFolder temp, string yaml) =>
        MergePlanner.Plan(RecipeParser.ParseFile(RecipeFiles.Write(temp, yaml)));
}
