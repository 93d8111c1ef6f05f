using MergeBuild.Diagnostics;
using NuGet.Protocol.Core.Types;

namespace MergeBuild.Caching;

/// <summary>Where a merge's output came from.</summary>
public enum ResultOrigin
{
    Merged,
    LocalCache,
    Feed,
}

/// <summary>What <see cref="CachedMerge.Run"/> did: where the output came from and what was published.</summary>
public sealed record CachedMergeOutcome(ResultOrigin Origin, string? Source, int PackagesPublished)
{
    /// <summary>The message a front end prints when it did not merge, e.g. <c>restored from cache (feed: …)</c>.</summary>
    public string? RestoredMessage => Origin switch
    {
        ResultOrigin.LocalCache => $"restored from cache (local: {Source})",
        ResultOrigin.Feed => $"restored from cache (feed: {Source})",
        _ => null,
    };
}

/// <summary>
/// A merge through the cache: restore from the local store, else from the feed, else merge and store (and publish
/// in read-write mode). The entry's lock is held throughout, so when two builds need the same merge one merges and
/// the other, once the lock is free, restores what the first stored; both end with a complete output.
/// </summary>
public static class CachedMerge
{
    public static CachedMergeOutcome Run(CacheSettings settings, string fingerprint, string outputFolder, Action merge,
        Action<CacheWarning> warn, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(merge);
        ArgumentNullException.ThrowIfNull(warn);
        if (settings.Mode == CacheMode.Off)
        {
            merge();
            return new CachedMergeOutcome(ResultOrigin.Merged, null, 0);
        }

        var local = new LocalCache(settings.Directory);
        var feed = settings.Feed is null
            ? null
            : new FeedCache(FeedSource.Resolve(settings.Feed, Directory.GetCurrentDirectory()), settings.PartBytes, settings.ApiKey);
        if (settings.Mode == CacheMode.ReadWrite && feed is null)
        {
            throw new MergeBuildException(ErrorCodes.CacheSettings, "publishing to the cache needs a feed.",
                hint: "Pass --feed SOURCE (or set MergeBuildCacheFeed), or use cache mode read.");
        }

        EntryLock? entryLock;
        try
        {
            entryLock = local.Lock(fingerprint, settings.LockTimeout, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn(new CacheWarning(ErrorCodes.CacheUnavailable, local.Root,
                $"the local cache cannot be used ({e.Message}); merging without the cache."));
            merge();
            return new CachedMergeOutcome(ResultOrigin.Merged, null, 0);
        }

        if (entryLock is null)
        {
            warn(new CacheWarning(ErrorCodes.CacheUnavailable, local.Root,
                $"another build held the cache entry {fingerprint} for {settings.LockTimeout}; merging without the cache."));
            merge();
            return new CachedMergeOutcome(ResultOrigin.Merged, null, 0);
        }

        using (entryLock)
        {
            if (TryRestore(local, fingerprint, outputFolder, warn))
            {
                return new CachedMergeOutcome(ResultOrigin.LocalCache, local.Root,
                    Publish(local, feed, fingerprint, settings, warn, cancellationToken));
            }

            if (feed is not null && feed.TryRestoreAsync(fingerprint, local, warn, cancellationToken).GetAwaiter().GetResult() &&
                TryRestore(local, fingerprint, outputFolder, warn))
            {
                return new CachedMergeOutcome(ResultOrigin.Feed, feed.Feed.Display, 0);
            }

            merge();
            try
            {
                local.Store(fingerprint, outputFolder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The merge itself succeeded; a full disk or a read-only cache only costs the reuse.
                warn(new CacheWarning(ErrorCodes.CacheUnavailable, local.Root,
                    $"the merge could not be stored in the local cache ({e.Message})."));
                return new CachedMergeOutcome(ResultOrigin.Merged, null, 0);
            }

            var published = Publish(local, feed, fingerprint, settings, warn, cancellationToken);
            var pruned = local.Prune(settings.MaxBytes, keep: fingerprint);
            if (pruned.RemainingBytes > settings.MaxBytes)
            {
                warn(new CacheWarning(ErrorCodes.CacheUnavailable, local.Root,
                    $"the cache holds {pruned.RemainingBytes} bytes, more than its limit of {settings.MaxBytes}, even after " +
                    "evicting every other entry it could; raise the limit (--cache-max-size, MergeBuildCacheMaxSize)."));
            }

            return new CachedMergeOutcome(ResultOrigin.Merged, null, published);
        }
    }

    /// <summary>A restore that fails on I/O (a full disk, a vanished blob) falls back to merging, with a warning.</summary>
    private static bool TryRestore(LocalCache local, string fingerprint, string outputFolder, Action<CacheWarning> warn)
    {
        try
        {
            return local.TryRestore(fingerprint, outputFolder, warn);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn(new CacheWarning(ErrorCodes.CacheUnavailable, local.Root,
                $"the cached merge {fingerprint} could not be restored ({e.Message}); merging instead."));
            return false;
        }
    }

    /// <summary>Publishes in read-write mode; a feed that cannot take it is a warning, since the output itself is fine.</summary>
    private static int Publish(LocalCache local, FeedCache? feed, string fingerprint, CacheSettings settings,
        Action<CacheWarning> warn, CancellationToken cancellationToken)
    {
        if (settings.Mode != CacheMode.ReadWrite || feed is null || local.Find(fingerprint) is not { } entry)
        {
            return 0;
        }

        try
        {
            return feed.PublishAsync(entry, local, cancellationToken).GetAwaiter().GetResult();
        }
        catch (MergeBuildException e) when (e.Code == ErrorCodes.CacheEntryDamaged)
        {
            warn(new CacheWarning(e.Code, e.Location?.File ?? local.Root, e.Message));
        }
        catch (Exception e) when (e is FatalProtocolException or HttpRequestException or IOException)
        {
            warn(new CacheWarning(ErrorCodes.CacheFeedUnavailable, feed.Feed.Display,
                $"the merge could not be published to the cache feed ({e.Message})."));
        }

        return 0;
    }
}
