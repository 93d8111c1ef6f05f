using System.CommandLine;
using MergeBuild.Cli.Commands;
using MergeBuild.Diagnostics;

namespace MergeBuild.Cli;

/// <summary>
/// The <c>mergebuild</c> command line. Every command runs inside <see cref="Guard"/>, which turns a user error into
/// one <c>file(line,col): error MBxxxx: …</c> line and a non-zero exit code, never a stack trace.
/// </summary>
public sealed class MergeBuildCli(TextWriter output, TextWriter error, bool interactive)
{
    /// <summary>Exit code for a user error (bad recipe, missing model…).</summary>
    public const int UserError = 1;

    /// <summary>Exit code for a bug in MergeBuild itself.</summary>
    public const int InternalError = 70;

    /// <summary>Exit code after Ctrl+C.</summary>
    public const int Cancelled = 130;

    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>True when output goes to a terminal: progress redraws one line instead of printing many.</summary>
    public bool Interactive { get; } = interactive;

    /// <summary>Reads environment variables (replaceable, so tests can give each run its own cache settings).</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("MergeBuild: merge fine-tuned checkpoints of one base model from mergekit recipes.")
        {
            MergeCommand.Create(this),
            ValidateCommand.Create(this),
            InspectCommand.Create(this),
            BenchCommand.Create(this),
            EvalCommand.Create(this),
            SweepCommand.Create(this),
            CacheCommand.Create(this),
        };
        var configuration = new InvocationConfiguration { Output = Output, Error = Error };
        return await root.Parse(args).InvokeAsync(configuration).ConfigureAwait(false);
    }

    /// <summary>Runs a command body, mapping exceptions to one clear line and an exit code.</summary>
    public int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (MergeBuildException e)
        {
            Error.WriteLine(e.ToDiagnosticLine());
            return UserError;
        }
        catch (OperationCanceledException)
        {
            Error.WriteLine($"error {ErrorCodes.Cancelled}: cancelled; no output was written or replaced.");
            return Cancelled;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
            Error.WriteLine("This is a bug in MergeBuild; please report it with the command you ran. " +
                            "Set MERGEBUILD_DEBUG=1 to print the stack trace.");
            if (Environment("MERGEBUILD_DEBUG") == "1")
            {
                Error.WriteLine(e);
            }

            return InternalError;
        }
    }
}
