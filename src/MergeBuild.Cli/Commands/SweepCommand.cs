using System.CommandLine;
using System.Globalization;
using MergeBuild.Diagnostics;
using MergeBuild.Eval.Gates;
using MergeBuild.Execution;
using MergeBuild.Recipes;
using MergeBuild.Recipes.Gates;

namespace MergeBuild.Cli.Commands;

/// <summary>
/// <c>mergebuild sweep RECIPE --set parameters.t --values 0,0.25,0.5,0.75,1</c>: merges the recipe once per value of
/// one parameter, evaluates its gates on each result, and reports which values pass every gate.
/// </summary>
internal static class SweepCommand
{
    public static Command Create(MergeBuildCli cli)
    {
        var recipe = new Argument<string>("recipe") { Description = "A recipe with gates." };
        var path = new Option<string>("--set")
        {
            Description = "The value to vary, e.g. parameters.t or models[1].parameters.weight.",
            Required = true,
        };
        var values = new Option<string>("--values")
        {
            Description = "Comma-separated values to try.",
            DefaultValueFactory = _ => "0,0.25,0.5,0.75,1",
        };
        var cache = new Option<string?>("--baseline-cache") { Description = "Where input models' scores are cached." };
        var command = new Command("sweep", "Merge and gate a recipe over a grid of one parameter.")
        {
            recipe, path, values, cache,
        };
        command.SetAction(parse => cli.Guard(() =>
        {
            var recipePath = parse.GetValue(recipe)!;
            if (!File.Exists(recipePath))
            {
                throw new MergeBuildException(ErrorCodes.RecipeNotFound, $"recipe '{recipePath}' does not exist.");
            }

            var text = File.ReadAllText(recipePath);
            var grid = parse.GetValue(values)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
                    : throw new MergeBuildException(ErrorCodes.InvalidOption, $"--values: '{v}' is not a number."))
                .ToList();
            if (GateParser.Parse(RecipeParser.Parse(text, recipePath)).Count == 0)
            {
                throw new MergeBuildException(ErrorCodes.MissingKey, "the recipe declares no gates to screen with.",
                    new SourceLocation(recipePath), "Add gates: to the recipe.");
            }

            var work = Path.Combine(Path.GetTempPath(), "mergebuild-sweep-" + Guid.NewGuid().ToString("N"));
            var passing = new List<double>();
            try
            {
                foreach (var value in grid)
                {
                    var recipes = RecipeParser.Parse(RecipeEditor.Set(text, parse.GetValue(path)!, value), recipePath);
                    var output = Path.Combine(work, "merge");
                    RecipeMerge.Execute(recipes, output, new MergeOptions { WriteModelCard = false });
                    var report = GateEvaluator.Evaluate(recipes, output, new GateEvaluationOptions
                    {
                        BaselineCacheDirectory = parse.GetValue(cache) ?? BaselineCache.DefaultDirectory,
                    });
                    var scores = string.Join("  ", report.Tasks.Select(t =>
                        string.Create(CultureInfo.InvariantCulture, $"{t.Gate.Name} {t.Score:0.###}{(t.Passed ? "" : "!")}")));
                    cli.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{parse.GetValue(path)} = {value,-6}  {scores}  {(report.Passed ? "pass" : "fail")}"));
                    if (report.Passed)
                    {
                        passing.Add(value);
                    }

                    Directory.Delete(output, recursive: true);
                }
            }
            finally
            {
                if (Directory.Exists(work))
                {
                    Directory.Delete(work, recursive: true);
                }
            }

            cli.Output.WriteLine(passing.Count == 0
                ? "no value passes every gate"
                : "passing every gate: " + string.Join(", ", passing.Select(v => v.ToString(CultureInfo.InvariantCulture))));
            return passing.Count == 0 ? MergeBuildCli.UserError : 0;
        }));
        return command;
    }
}
