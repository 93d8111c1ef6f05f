using System.Diagnostics;

namespace MergeBuild.Cli.Tests.Faults;

/// <summary>Runs the real <c>mergebuild</c> CLI as a child process, so it can be killed like a build's tool.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Output, string Error);

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "mergebuild.dll");

    private static string Host =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("MERGEBUILD_FAULT");
        start.Environment.Remove("MERGEBUILD_FAULT_LOG");
        // Every run really merges (a restore from the merge cache would skip the steps under test) and the user's
        // cache is never touched.
        start.Environment["MERGEBUILD_CACHE_MODE"] = "off";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start the CLI");
    }

    public static Result Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Start(environment, args);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the CLI did not finish in 3 minutes");
        }

        return new Result(process.ExitCode, output.Result, error.Result);
    }
}
