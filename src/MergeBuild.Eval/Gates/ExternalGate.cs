using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;
using MergeBuild.Recipes.Gates;

namespace MergeBuild.Eval.Gates;

/// <summary>
/// Scores a model with an external evaluator (for models too big to evaluate here): runs the gate's command with
/// <c>{model}</c> replaced by the model folder and reads lm-eval-harness's results format,
/// <c>{"results": {task: {metric: score}}}</c>, from the results file or the command's standard output.
/// </summary>
public static class ExternalGate
{
    public static double Score(GateSpec gate, string modelFolder, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(gate);
        var command = gate.Command!.Replace("{model}", modelFolder, StringComparison.Ordinal);
        var start = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd.exe", ["/c", command])
            : new ProcessStartInfo("/bin/sh", ["-c", command]);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw Fail(gate, "the command could not be started.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw Fail(gate, $"the command did not finish within {timeout.TotalMinutes:0} minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw Fail(gate, $"the command exited with code {process.ExitCode}: {error.Result.Trim()}");
        }

        var text = gate.ResultsPath is { } path ? File.ReadAllText(path) : output.Result;
        try
        {
            var task = gate.ResultsTask ?? gate.Name;
            var value = JsonNode.Parse(text)?["results"]?[task]?[gate.ResultsMetric!];
            return value?.GetValue<double>() ?? throw Fail(gate,
                $"the results have no results.{task}[\"{gate.ResultsMetric}\"] entry.");
        }
        catch (JsonException e)
        {
            throw Fail(gate, $"its results are not JSON: {e.Message}");
        }
    }

    private static MergeBuildException Fail(GateSpec gate, string message) =>
        new(ErrorCodes.ExternalGateFailed, $"external gate '{gate.Name}': {message}", gate.Location,
            "Run the command by hand to check it; it must print (or write to results:) lm-eval-harness JSON.");
}
