using System.CommandLine;
using MergeBuild.Caching;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Recipes;

namespace MergeBuild.Cli.Commands;

/// <summary>
/// The merge command's cache flags and how they combine with the environment (<c>MERGEBUILD_CACHE</c>,
/// <c>MERGEBUILD_CACHE_MODE</c>, <c>MERGEBUILD_CACHE_FEED</c>, <c>MERGEBUILD_CACHE_MAX_SIZE</c>,
/// <c>MERGEBUILD_CACHE_API_KEY</c>) and the recipe's
/// <c>cache:</c> section: a flag wins over the environment, which wins over the recipe.
/// </summary>
internal sealed class CacheOptions
{
    public const string ModeVariable = "MERGEBUILD_CACHE_MODE";
    public const string FeedVariable = "MERGEBUILD_CACHE_FEED";
    public const string MaxSizeVariable = "MERGEBUILD_CACHE_MAX_SIZE";
    public const string ApiKeyVariable = "MERGEBUILD_CACHE_API_KEY";

    public Option<string?> Directory { get; } = new("--cache-dir")
    {
        Description = "The local merge cache (default: $MERGEBUILD_CACHE, else the user's cache folder).",
    };

    public Option<string?> Mode { get; } = new("--cache-mode")
    {
        Description = "off | read (restore, store locally; the default) | readwrite (also publish to --feed).",
    };

    public Option<string?> Feed { get; } = new("--feed")
    {
        Description = "A NuGet feed used as shared cache: a source name from nuget.config, a URL or a folder.",
    };

    public Option<bool> Publish { get; } = new("--publish")
    {
        Description = "Publish the merge to --feed when the feed lacks it (the same as --cache-mode readwrite).",
    };

    public Option<string?> MaxSize { get; } = new("--cache-max-size")
    {
        Description = "Size limit of the local cache, in bytes with k/m/b suffixes (default 50B); least recently used merges go first.",
    };

    public Option<string?> PartSize { get; } = new("--feed-part-size")
    {
        Description = "Largest file part per feed package, in bytes with k/m/b suffixes (default 200M: below every feed's limit).",
    };

    public IEnumerable<Option> All => [Directory, Mode, Feed, Publish, MaxSize, PartSize];

    /// <summary>
    /// The local cache's size limit: the option's value where given, else <see cref="MaxSizeVariable"/>, else the
    /// default; an invalid value is reported under the name it was read from.
    /// </summary>
    public static long MaxBytes(string? given, string option, Func<string, string?> environment) =>
        given is not null ? DecimalSize.Parse(given, option)
        : environment(MaxSizeVariable) is { Length: > 0 } variable ? DecimalSize.Parse(variable, MaxSizeVariable)
        : CacheSettings.DefaultMaxBytes;

    /// <summary>Combines flags, environment and recipe into the settings of this merge.</summary>
    public CacheSettings Settings(ParseResult parse, RecipeSet recipes, Func<string, string?> environment)
    {
        var section = CacheSection.Parse(recipes);
        var mode = parse.GetValue(Mode) is { } flag ? CacheSettings.ParseMode(flag, "--cache-mode")
            : environment(ModeVariable) is { Length: > 0 } variable ? CacheSettings.ParseMode(variable, ModeVariable)
            : section.Mode is { } fromRecipe ? CacheSettings.ParseMode(fromRecipe, "the recipe's cache.mode")
            : CacheMode.Read;
        if (parse.GetValue(Publish))
        {
            if (parse.GetValue(Mode) is not null && mode != CacheMode.ReadWrite)
            {
                throw new MergeBuildException(ErrorCodes.InvalidOption,
                    $"--publish contradicts --cache-mode {parse.GetValue(Mode)}.", hint: "Pass one of them.");
            }

            mode = CacheMode.ReadWrite;
        }

        var feed = parse.GetValue(Feed) ?? (environment(FeedVariable) is { Length: > 0 } f ? f : null) ?? section.Feed;
        var partSize = parse.GetValue(PartSize);
        return new CacheSettings
        {
            Mode = mode,
            Directory = parse.GetValue(Directory) is { } folder ? Path.GetFullPath(folder) : CacheLocation.Default(environment),
            Feed = feed,
            ApiKey = environment(ApiKeyVariable) is { Length: > 0 } key ? key : null,
            MaxBytes = MaxBytes(parse.GetValue(MaxSize), "--cache-max-size", environment),
            PartBytes = partSize is { Length: > 0 } ? DecimalSize.Parse(partSize, "--feed-part-size") : FeedPackages.DefaultPartBytes,
        };
    }
}
