using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace MergeBuild.Tasks;

/// <summary>
/// Runs one merge in the <c>mergebuild</c> CLI, out of the MSBuild node, so gigabytes of tensors never live in a
/// long-lived build process and the engine runs with its own runtime settings. The CLI reports problems as
/// <c>file(line,col): error MBxxxx: …</c>, which ToolTask turns into MSBuild errors with codes and positions.
/// Cancelling the build kills the CLI; its output is only ever moved into place complete.
/// </summary>
public sealed class MergeModel : ToolTask
{
    [Required]
    public string Recipe { get; set; } = "";

    [Required]
    public string OutputFolder { get; set; } = "";

    /// <summary>The CLI's entry assembly (mergebuild.dll).</summary>
    [Required]
    public string CliPath { get; set; } = "";

    public string? Seed { get; set; }

    public string? Device { get; set; }

    public string? OutShardSize { get; set; }

    public bool CopyTokenizer { get; set; } = true;

    /// <summary>The fingerprint ResolveModelMerges computed; recorded in the output's marker.</summary>
    public string? Fingerprint { get; set; }

    /// <summary>Evaluate the recipe's gates after merging (the build fails when one fails).</summary>
    public bool Gates { get; set; } = true;

    /// <summary>Where gates.json, gates.md and gates.html are written.</summary>
    public string? GatesReport { get; set; }

    /// <summary>off | read | readwrite (empty: the CLI's default, read, or the recipe's cache.mode).</summary>
    public string? CacheMode { get; set; }

    /// <summary>The local merge cache folder (empty: $MERGEBUILD_CACHE or the user's cache folder).</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>The NuGet feed used as shared cache: a source name, URL or folder.</summary>
    public string? CacheFeed { get; set; }

    /// <summary>Size limit of the local cache (k/m/b suffixes).</summary>
    public string? CacheMaxSize { get; set; }

    /// <summary>
    /// The content-hash memo <see cref="ResolveModelMerges"/> fingerprinted with: the tool's input check answers from
    /// it instead of reading every input again.
    /// </summary>
    public string? HashMemo { get; set; }

    protected override string ToolName => "dotnet";

    protected override MessageImportance StandardOutputLoggingImportance => MessageImportance.High;

    protected override MessageImportance StandardErrorLoggingImportance => MessageImportance.High;

    protected override string GenerateFullPathToTool() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    protected override string GenerateCommandLineCommands()
    {
        var args = new StringBuilder();
        Append(args, CliPath);
        args.Append(" merge");
        // Relative to the project folder (the tool's working directory) when inside it: shorter build logs.
        Append(args, Relative(Recipe));
        Append(args, Relative(OutputFolder.TrimEnd('/', '\\')));
        args.Append(" --quiet");
        if (!string.IsNullOrEmpty(Fingerprint))
        {
            args.Append(" --fingerprint");
            Append(args, Fingerprint);
        }

        if (!string.IsNullOrEmpty(Seed))
        {
            args.Append(CultureInfo.InvariantCulture, $" --random-seed {Seed}");
        }

        if (!string.IsNullOrEmpty(OutShardSize))
        {
            args.Append(" --out-shard-size");
            Append(args, OutShardSize);
        }

        if (!CopyTokenizer)
        {
            args.Append(" --no-copy-tokenizer");
        }

        if (!Gates)
        {
            args.Append(" --no-gates");
        }
        else if (!string.IsNullOrEmpty(GatesReport))
        {
            args.Append(" --gates-report");
            Append(args, Relative(GatesReport));
        }

        AppendOption(args, "--hash-memo", HashMemo);
        AppendOption(args, "--cache-mode", CacheMode);
        AppendOption(args, "--cache-dir", CacheDirectory);
        AppendOption(args, "--feed", CacheFeed);
        AppendOption(args, "--cache-max-size", CacheMaxSize);
        if (!string.IsNullOrEmpty(Device) && Device != "cpu")
        {
            args.Append(" --device");
            Append(args, Device);
        }

        return args.ToString();
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? path : relative;
    }

    private static void AppendOption(StringBuilder args, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            args.Append(' ').Append(name);
            Append(args, value);
        }
    }

    private static void Append(StringBuilder args, string value) =>
        args.Append(" \"").Append(value.Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
}
