namespace MergeBuild.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output, as a shell would see it (redirected, not a terminal).</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>
    /// Runs with the merge cache off (as if <c>MERGEBUILD_CACHE_MODE=off</c>), so every test really merges and none
    /// touches the user's cache; cache tests use <see cref="RunWithCache"/>.
    /// </summary>
    public static Result Run(params string[] args) =>
        RunWith(name => name == "MERGEBUILD_CACHE_MODE" ? "off" : null, args);

    /// <summary>Runs with an environment that sets nothing: the cache is on, and tests pass --cache-dir.</summary>
    public static Result RunWithCache(params string[] args) => RunWith(_ => null, args);

    /// <summary>Runs with <paramref name="environment"/> as the process environment.</summary>
    public static Result RunWith(Func<string, string?> environment, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var cli = new MergeBuildCli(output, error, interactive: false) { Environment = environment };
        var code = cli.RunAsync(args).GetAwaiter().GetResult();
        return new Result(code, output.ToString(), error.ToString());
    }
}
