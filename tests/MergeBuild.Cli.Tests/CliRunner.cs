namespace MergeBuild.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output, as a shell would see it (redirected, not a terminal).</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = new MergeBuildCli(output, error, interactive: false).RunAsync(args).GetAwaiter().GetResult();
        return new Result(code, output.ToString(), error.ToString());
    }
}
