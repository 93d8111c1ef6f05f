using System.CommandLine;
using MergeBuild.Planning;
using MergeBuild.Recipes;

namespace MergeBuild.Cli.Commands;

/// <summary>
/// <c>mergebuild validate RECIPE</c>: every check a merge makes before reading weights (recipe schema, models,
/// architectures, tensor names and shapes, layer ranges, parameters), from headers and configs only.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create(MergeBuildCli cli)
    {
        var recipe = new Argument<string>("recipe") { Description = "The mergekit YAML recipe." };
        var allowCrimes = new Option<bool>("--allow-crimes")
        {
            Description = "Accept models whose architectures differ.",
        };
        var command = new Command("validate", "Check a recipe against its models without merging.")
        {
            recipe, allowCrimes,
        };
        command.SetAction(parse => cli.Guard(() =>
        {
            var recipePath = parse.GetValue(recipe)!;
            var recipes = RecipeParser.ParseFile(recipePath);
            var planOptions = new PlanOptions { AllowCrimes = parse.GetValue(allowCrimes) };
            foreach (var document in recipes.Documents)
            {
                var label = recipes.Documents.Count > 1 ? $"{recipePath} '{document.Name ?? "final"}'" : recipePath;
                // A document built on an earlier one's output can only be checked once that output exists.
                if (document.AllModelReferences().FirstOrDefault(r => r.IntermediateName is not null) is { } uses)
                {
                    cli.Output.WriteLine($"{label}: syntax ok; uses '{uses.IntermediateName}', checked when merged");
                    continue;
                }

                var plan = MergePlanner.PlanDocument(recipes, document, planOptions, intermediates: null);
                foreach (var warning in plan.Warnings)
                {
                    cli.Error.WriteLine($"{recipePath}: warning: {warning}");
                }

                cli.Output.WriteLine(
                    $"{label}: ok: {plan.Recipe.MergeMethod}, {plan.Models.Count} models, {plan.Jobs.Count} tensors, " +
                    $"{Formatting.Count(plan.ParameterCount)} parameters, {Formatting.Bytes(plan.OutputBytes)} to write");
            }

            return 0;
        }));
        return command;
    }
}
