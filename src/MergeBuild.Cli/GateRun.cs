using MergeBuild.Diagnostics;
using MergeBuild.Eval.Gates;
using MergeBuild.Gates;
using MergeBuild.Recipes;

namespace MergeBuild.Cli;

/// <summary>
/// Evaluates a merged model against its recipe's gates, writes gates.json/md/html, prints one line per task and one
/// <c>recipe(line,col): error MB6101: task: score &lt; threshold</c> per failing task.
/// </summary>
internal static class GateRun
{
    /// <summary>Returns true when every gate passed.</summary>
    public static bool Run(MergeBuildCli cli, RecipeSet recipes, string model, string reportFolder, string? baselineCache,
        bool quiet)
    {
        var options = new GateEvaluationOptions
        {
            BaselineCacheDirectory = baselineCache ?? BaselineCache.DefaultDirectory,
        };
        var report = GateEvaluator.Evaluate(recipes, model, options, quiet ? null : line => cli.Output.WriteLine(line));
        GateReportWriter.Write(report, reportFolder);
        foreach (var task in report.Tasks)
        {
            if (task.Passed)
            {
                if (!quiet)
                {
                    cli.Output.WriteLine($"gate {task.Summary}: pass");
                }
            }
            else
            {
                var error = new MergeBuildException(ErrorCodes.GateFailed, $"gate {task.Summary}", task.Gate.Location,
                    $"See {Path.Combine(reportFolder, "gates.html")}.");
                cli.Error.WriteLine(error.ToDiagnosticLine());
            }
        }

        cli.Output.WriteLine(report.Passed
            ? $"gates passed ({report.Tasks.Count} tasks); report: {reportFolder}"
            : $"gates FAILED ({report.Tasks.Count(t => !t.Passed)} of {report.Tasks.Count} tasks); report: {reportFolder}");
        return report.Passed;
    }
}
