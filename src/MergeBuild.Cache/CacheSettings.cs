using MergeBuild.Diagnostics;

namespace MergeBuild.Caching;

/// <summary>How a build uses the merge cache.</summary>
public enum CacheMode
{
    /// <summary>No cache: always merge, store nothing.</summary>
    Off,

    /// <summary>Restore from the local store, then the feed; store merges locally; never publish (the default).</summary>
    Read,

    /// <summary>As <see cref="Read"/>, and publish merges the feed lacks to it (typically CI).</summary>
    ReadWrite,
}

/// <summary>The cache settings of one merge, after command-line flags, environment and recipe were combined.</summary>
public sealed record CacheSettings
{
    /// <summary>Default size limit of the local store: 50 GB, least recently used merges evicted beyond it.</summary>
    public const long DefaultMaxBytes = 50_000_000_000;

    public CacheMode Mode { get; init; } = CacheMode.Read;

    /// <summary>The local store's folder.</summary>
    public required string Directory { get; init; }

    /// <summary>The feed (source name, URL or folder), or null for the local store only.</summary>
    public string? Feed { get; init; }

    /// <summary>The feed's push key when not taken from the NuGet configuration (CI secrets on Linux/macOS).</summary>
    public string? ApiKey { get; init; }

    public long MaxBytes { get; init; } = DefaultMaxBytes;

    public long PartBytes { get; init; } = FeedPackages.DefaultPartBytes;

    /// <summary>How long a build waits for another build filling the same entry before merging on its own.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Parses <c>off</c>, <c>read</c> or <c>readwrite</c> (any case); <paramref name="origin"/> names the setting in errors.</summary>
    public static CacheMode ParseMode(string text, string origin, SourceLocation? location = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "off" or "false" => CacheMode.Off,
            "read" => CacheMode.Read,
            "readwrite" or "read-write" => CacheMode.ReadWrite,
            _ => throw new MergeBuildException(ErrorCodes.CacheSettings,
                $"{origin} is '{text}', not one of off, read or readwrite.", location,
                "Use off (no cache), read (restore and store locally) or readwrite (also publish to the feed)."),
        };
    }
}
