using System.Diagnostics;

namespace MergeBuild.Tasks.Tests;

/// <summary>Runs the dotnet CLI as a user would, without node reuse, and captures what it prints.</summary>
internal static class DotnetCommand
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}\n{Output}";
    }

    private static readonly string BaselineCacheFolder =
        Path.Combine(Path.GetTempPath(), "mergebuild-tests-baselines-" + Environment.ProcessId);

    public static Result Run(string workingDirectory, params string[] args) => Run(workingDirectory, null, args);

    /// <summary>Runs with extra environment variables (the fault-injection tests set MERGEBUILD_FAULT).</summary>
    public static Result Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // Gate baselines go to a per-run temporary cache, never the user's.
        start.Environment["MERGEBUILD_BASELINE_CACHE"] = BaselineCacheFolder;
        // Builds really merge and never touch the user's merge cache; the cache's own test turns it on by property.
        start.Environment["MERGEBUILD_CACHE_MODE"] = "off";
        // The test host's own MSBuild settings must not leak into the child build.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MERGEBUILD_FAULT");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in 5 minutes");
        }

        return new Result(process.ExitCode, output.Result + error.Result);
    }
}
