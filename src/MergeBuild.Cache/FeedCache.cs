using System.Security.Cryptography;
using System.Text;
using MergeBuild.Diagnostics;
using NuGet.Common;
using HashAlgorithmName = System.Security.Cryptography.HashAlgorithmName;
using NuGet.Packaging;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;

namespace MergeBuild.Caching;

/// <summary>
/// A NuGet feed used as a shared merge cache (see <see cref="FeedPackages"/> for the package layout). Restoring fills
/// the local store: every part and every file is checked against the manifest's SHA-256 as it is downloaded, and the
/// manifest's paths are checked before anything is written. Publishing pushes the parts the feed lacks, then the
/// manifest, so a manifest is never visible before its parts.
/// </summary>
public sealed partial class FeedCache
{
    private const long MaxManifestBytes = 16 << 20;
    private readonly SourceRepository repository;
    private readonly long partBytes;

    private readonly string? apiKey;

    /// <param name="apiKey">The push key; null takes the one stored for the source in the NuGet configuration.</param>
    public FeedCache(FeedSource feed, long partBytes = FeedPackages.DefaultPartBytes, string? apiKey = null)
    {
        this.apiKey = apiKey;
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentOutOfRangeException.ThrowIfLessThan(partBytes, 1);
        Feed = feed;
        this.partBytes = partBytes;
        repository = Repository.Factory.GetCoreV3(feed.Source);
    }

    public FeedSource Feed { get; }

    /// <summary>
    /// Downloads the merge <paramref name="fingerprint"/> into <paramref name="local"/>'s store. False when the feed
    /// does not have it, or when something downloaded was rejected or damaged (reported through <paramref name="warn"/>).
    /// </summary>
    public async Task<bool> TryRestoreAsync(string fingerprint, LocalCache local, Action<CacheWarning> warn,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(warn);
        if (Feed.IsFolder && !Directory.Exists(Feed.Source.Source))
        {
            return false;
        }

        var manifestId = FeedPackages.ManifestId(fingerprint);
        var origin = $"{manifestId} ({Feed.Display})";
        try
        {
            using var cache = NewCacheContext();
            var finder = await FinderAsync(cancellationToken).ConfigureAwait(false);
            using var manifestPackage = new MemoryStream();
            if (!await finder.CopyNupkgToStreamAsync(manifestId, FeedPackages.Version, manifestPackage, cache,
                    NullLogger.Instance, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            manifestPackage.Position = 0;
            var manifest = ReadManifest(manifestPackage, fingerprint, origin);
            foreach (var file in manifest.Files)
            {
                if (!local.HasBlob(file.Sha256, file.Size))
                {
                    await DownloadFileAsync(finder, cache, file, local, origin, cancellationToken).ConfigureAwait(false);
                }
            }

            local.WriteEntry(manifest with { Files = [.. manifest.Files.Select(f => f with { Parts = null })] });
            return true;
        }
        catch (MergeBuildException e)
        {
            warn(new CacheWarning(e.Code, e.Location?.File ?? origin, e.Message + " The merge is rebuilt."));
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            warn(new CacheWarning(ErrorCodes.CachePackageRejected, origin,
                $"a package of this merge could not be read ({e.Message}); the merge is rebuilt."));
        }
        catch (Exception e) when (e is FatalProtocolException or HttpRequestException)
        {
            warn(new CacheWarning(ErrorCodes.CacheFeedUnavailable, Feed.Display,
                $"the cache feed could not be read ({e.Message}); the merge is built here."));
        }

        return false;
    }

    /// <summary>True when the feed already holds the merge's manifest (and so, by construction, its parts).</summary>
    public async Task<bool> HasAsync(string fingerprint, CancellationToken cancellationToken)
    {
        if (Feed.IsFolder && !Directory.Exists(Feed.Source.Source))
        {
            return false;
        }

        using var cache = NewCacheContext();
        var finder = await FinderAsync(cancellationToken).ConfigureAwait(false);
        return await finder.DoesPackageExistAsync(FeedPackages.ManifestId(fingerprint), FeedPackages.Version, cache,
            NullLogger.Instance, cancellationToken).ConfigureAwait(false);
    }

    private static CacheManifest ReadManifest(Stream package, string fingerprint, string origin)
    {
        using var reader = new PackageArchiveReader(package, leaveStreamOpen: true);
        using var entry = FeedPackages.OpenEntry(reader, FeedPackages.ManifestEntry, origin);
        using var text = new MemoryStream();
        if (Sha256Hash.CopyHashing(entry, text, MaxManifestBytes) > MaxManifestBytes)
        {
            throw new MergeBuildException(ErrorCodes.CachePackageRejected,
                $"the manifest in {origin} is larger than {MaxManifestBytes} bytes; it was rejected.", new SourceLocation(origin));
        }

        var manifest = CacheManifest.Parse(Encoding.UTF8.GetString(text.ToArray()).TrimStart('\uFEFF'), fingerprint, origin);
        if (manifest.Files.Any(f => f.Parts is null))
        {
            throw new MergeBuildException(ErrorCodes.CachePackageRejected,
                $"the manifest in {origin} lists a file without its parts; it was rejected.", new SourceLocation(origin));
        }

        return manifest;
    }

    /// <summary>Downloads a file's parts in order into one temporary file, checking each part and then the whole.</summary>
    private static async Task DownloadFileAsync(FindPackageByIdResource finder, SourceCacheContext cache, CachedFile file,
        LocalCache local, string origin, CancellationToken cancellationToken)
    {
        var temporary = local.NewTemporaryPath();
        try
        {
            using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                foreach (var part in file.Parts!)
                {
                    var id = FeedPackages.BlobId(part.Sha256);
                    var packageFile = local.NewTemporaryPath();
                    try
                    {
                        using (var download = new FileStream(packageFile, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
                        {
                            if (!await finder.CopyNupkgToStreamAsync(id, FeedPackages.Version, download, cache,
                                    NullLogger.Instance, cancellationToken).ConfigureAwait(false))
                            {
                                throw new MergeBuildException(ErrorCodes.CacheEntryDamaged,
                                    $"the feed lacks the package {id} that {origin} needs for '{file.Path}'.",
                                    new SourceLocation(origin), "Publish the merge again, or delete its manifest package.");
                            }
                        }

                        using var reader = new PackageArchiveReader(packageFile);
                        using var content = FeedPackages.OpenEntry(reader, FeedPackages.PartEntry, id);
                        using var partHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                        var copied = Sha256Hash.CopyHashing(content, target, part.Size, partHash, whole);
                        var found = Sha256Hash.Hex(partHash);
                        if (copied != part.Size || found != part.Sha256)
                        {
                            throw new MergeBuildException(ErrorCodes.CacheEntryDamaged,
                                $"the feed package {id} (part of '{file.Path}') does not match its hash (expected SHA-256 " +
                                $"{part.Sha256}, {part.Size} bytes; found {found}, {copied} bytes); it was not used.",
                                new SourceLocation(id), "Delete the package from the feed; the next publish pushes it again.");
                        }
                    }
                    finally
                    {
                        File.Delete(packageFile);
                    }
                }

                if (Sha256Hash.Hex(whole) != file.Sha256)
                {
                    throw new MergeBuildException(ErrorCodes.CacheEntryDamaged,
                        $"the parts of '{file.Path}' in {origin} do not add up to the file's SHA-256 {file.Sha256}; they were not used.",
                        new SourceLocation(origin), "Delete the merge's packages from the feed; the next publish pushes them again.");
                }
            }

            local.AddBlob(temporary, file.Sha256);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private async Task<FindPackageByIdResource> FinderAsync(CancellationToken cancellationToken) =>
        await repository.GetResourceAsync<FindPackageByIdResource>(cancellationToken).ConfigureAwait(false) ??
        throw new MergeBuildException(ErrorCodes.CacheSettings, $"the feed {Feed.Display} cannot be searched by package id.",
            hint: "Use a folder feed or a NuGet v3 server.");

    private static SourceCacheContext NewCacheContext() =>
        // Probes must see the feed as it is now, and downloads must not pile up in NuGet's http cache.
        new() { NoCache = true, DirectDownload = true };
}
