using MergeBuild.Diagnostics;
using NuGet.Configuration;

namespace MergeBuild.Caching;

/// <summary>
/// A NuGet feed named the way <c>dotnet nuget push --source</c> names one: a package source name from the NuGet
/// configuration (nuget.config files, with their credentials and <c>apikeys</c>), an http(s) URL, or a folder.
/// </summary>
public sealed class FeedSource
{
    private readonly ISettings settings;

    private FeedSource(PackageSource source, ISettings settings)
    {
        Source = source;
        this.settings = settings;
    }

    public PackageSource Source { get; }

    /// <summary>A folder feed (local or a share), as opposed to an http(s) server.</summary>
    public bool IsFolder => Source.IsLocal;

    /// <summary>How messages name the feed: its configured name, URL or folder.</summary>
    public string Display => Source.Name != Source.Source ? $"{Source.Name} ({Source.Source})" : Source.Source;

    /// <summary>
    /// Resolves <paramref name="nameOrLocation"/> against the NuGet configuration that applies in
    /// <paramref name="workingDirectory"/>; a configured source name wins over a folder of the same name.
    /// </summary>
    public static FeedSource Resolve(string nameOrLocation, string workingDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrLocation);
        ISettings settings;
        try
        {
            settings = Settings.LoadDefaultSettings(workingDirectory);
        }
        catch (NuGetConfigurationException e)
        {
            throw new MergeBuildException(ErrorCodes.CacheSettings, $"cannot read the NuGet configuration: {e.Message}",
                hint: "Fix the nuget.config file it names.", innerException: e);
        }

        var configured = new PackageSourceProvider(settings).GetPackageSourceByName(nameOrLocation);
        if (configured is not null)
        {
            return new FeedSource(configured, settings);
        }

        if (Uri.TryCreate(nameOrLocation, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return new FeedSource(new PackageSource(nameOrLocation), settings);
        }

        var looksLikePath = nameOrLocation.Contains('/', StringComparison.Ordinal) ||
                            nameOrLocation.Contains('\\', StringComparison.Ordinal) ||
                            nameOrLocation.StartsWith('.') || Directory.Exists(Path.Combine(workingDirectory, nameOrLocation));
        if (!looksLikePath)
        {
            throw new MergeBuildException(ErrorCodes.CacheSettings,
                $"the cache feed '{nameOrLocation}' is neither a package source in the NuGet configuration, a URL nor a folder.",
                hint: "Name a source from 'dotnet nuget list source', give its URL, or a folder path (./feed for a folder here).");
        }

        return new FeedSource(new PackageSource(Path.GetFullPath(Path.Combine(workingDirectory, nameOrLocation))), settings);
    }

    /// <summary>
    /// The push API key stored for this source (<c>dotnet nuget setapikey</c>), or null (folders need none). NuGet can
    /// decrypt stored keys only on Windows; elsewhere CI passes the key in <c>MERGEBUILD_CACHE_API_KEY</c> instead.
    /// </summary>
    public string? ApiKey()
    {
        if (IsFolder)
        {
            return null;
        }

        try
        {
            return SettingsUtility.GetDecryptedValueForAddItem(settings, ConfigurationConstants.ApiKeys, Source.Source);
        }
        catch (Exception e) when (e is NotSupportedException or System.Security.Cryptography.CryptographicException or FormatException)
        {
            return null;
        }
    }
}
