using System.CommandLine;
using MergeBuild.Recipes;
using MergeBuild.Recipes.Gates;

namespace MergeBuild.Cli.Commands;

/// <summary><c>mergebuild eval MODEL --recipe R [--report DIR]</c>: a model against a recipe's gates, without merging.</summary>
internal static class EvalCommand
{
    public static Command Create(MergeBuildCli cli)
    {
        var model = new Argument<string>("model") { Description = "The model folder to evaluate." };
        var recipe = new Option<string>("--recipe") { Description = "The recipe whose gates apply.", Required = true };
        var report = new Option<string?>("--report")
        {
            Description = "Folder for gates.json, gates.md, gates.html (default: <model name>.gates in the current folder).",
        };
        var cache = new Option<string?>("--baseline-cache") { Description = "Where input models' scores are cached." };
        var command = new Command("eval", "Evaluate a model against a recipe's gates (exit code 1 when one fails).")
        {
            model, recipe, report, cache,
        };
        command.SetAction(parse => cli.Guard(() =>
        {
            var recipes = RecipeParser.ParseFile(parse.GetValue(recipe)!);
            if (GateParser.Parse(recipes).Count == 0)
            {
                throw new Diagnostics.MergeBuildException(Diagnostics.ErrorCodes.MissingKey,
                    "the recipe declares no gates.", recipes.Final.Location,
                    "Add gates: {task: {data: evals/task.jsonl, metric: exact_match, min: 0.5}}.");
            }

            var folder = Path.TrimEndingDirectorySeparator(parse.GetValue(model)!);
            var reportFolder = parse.GetValue(report) ?? Path.GetFileName(folder) + ".gates";
            return GateRun.Run(cli, recipes, folder, reportFolder, parse.GetValue(cache),
                quiet: false) ? 0 : MergeBuildCli.UserError;
        }));
        return command;
    }
}
