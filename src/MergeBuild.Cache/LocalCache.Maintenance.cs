using MergeBuild.Diagnostics;

namespace MergeBuild.Caching;

/// <summary>Listing, verifying and pruning the local store (<c>mergebuild cache list|verify|prune</c>, and after each store).</summary>
public sealed partial class LocalCache
{
    /// <summary>The entries, least recently used first.</summary>
    public IReadOnlyList<CacheEntryInfo> Entries()
    {
        if (!Directory.Exists(EntriesFolder))
        {
            return [];
        }

        var entries = new List<CacheEntryInfo>();
        foreach (var path in Directory.EnumerateFiles(EntriesFolder, "*.json"))
        {
            var fingerprint = Path.GetFileNameWithoutExtension(path);
            if (!CacheManifest.IsFingerprint(fingerprint) || Find(fingerprint) is not { } manifest)
            {
                continue;
            }

            entries.Add(new CacheEntryInfo(manifest, File.GetLastWriteTimeUtc(path)));
        }

        return [.. entries.OrderBy(e => e.LastUsedUtc).ThenBy(e => e.Manifest.Fingerprint, StringComparer.Ordinal)];
    }

    /// <summary>Bytes the blobs take on disk (shared files counted once).</summary>
    public long BlobBytes() => Blobs().Sum(b => b.Length);

    /// <summary>
    /// Re-hashes every blob and checks every entry is complete; damaged blobs and the entries that need them are
    /// removed (reported through <paramref name="warn"/>), so the next build rebuilds them.
    /// </summary>
    public VerifyReport Verify(Action<CacheWarning>? warn = null)
    {
        var damaged = 0;
        foreach (var blob in Blobs())
        {
            if (Sha256Hash.OfFile(blob.FullName) != blob.Name)
            {
                warn?.Invoke(new CacheWarning(ErrorCodes.CacheEntryDamaged, blob.FullName,
                    "the cached file's content does not match its SHA-256 name; it was removed."));
                TryDelete(blob.FullName);
                damaged++;
            }
        }

        var good = 0;
        var removed = 0;
        foreach (var entry in Entries())
        {
            if (entry.Manifest.Files.FirstOrDefault(f => !HasBlob(f.Sha256, f.Size)) is { } missing)
            {
                warn?.Invoke(new CacheWarning(ErrorCodes.CacheEntryDamaged, EntryPath(entry.Manifest.Fingerprint),
                    $"the entry's file '{missing.Path}' is missing or damaged; the entry was removed."));
                TryDelete(EntryPath(entry.Manifest.Fingerprint));
                removed++;
            }
            else
            {
                good++;
            }
        }

        return new VerifyReport(good, removed, damaged);
    }

    /// <summary>
    /// Evicts least-recently-used entries until the blobs take at most <paramref name="maxBytes"/>, then deletes blobs
    /// no entry needs. An entry being filled or restored (its lock held) is skipped, as is <paramref name="keep"/>.
    /// </summary>
    public PruneReport Prune(long maxBytes, string? keep = null)
    {
        var entries = Entries();
        var references = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var file in entries.SelectMany(e => e.Manifest.Files.DistinctBy(f => f.Sha256)))
        {
            references[file.Sha256] = references.GetValueOrDefault(file.Sha256) + 1;
        }

        var sizes = Blobs().ToDictionary(b => b.Name, b => b.Length, StringComparer.Ordinal);
        var total = sizes.Values.Sum();
        var freed = 0L;
        var evicted = new List<string>();
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var orphan in Blobs().Where(b => !references.ContainsKey(b.Name) && now - b.LastWriteTimeUtc > OrphanGrace))
        {
            TryDelete(orphan.FullName);
            total -= orphan.Length;
            freed += orphan.Length;
        }

        foreach (var entry in entries)
        {
            if (total <= maxBytes)
            {
                break;
            }

            var fingerprint = entry.Manifest.Fingerprint;
            if (fingerprint == keep)
            {
                continue;
            }

            using var held = Lock(fingerprint, TimeSpan.Zero);
            if (held is null)
            {
                continue;
            }

            TryDelete(EntryPath(fingerprint));
            evicted.Add(fingerprint);
            foreach (var sha in entry.Manifest.Files.Select(f => f.Sha256).Distinct(StringComparer.Ordinal))
            {
                references[sha]--;
                if (references[sha] == 0 && sizes.TryGetValue(sha, out var size))
                {
                    TryDelete(BlobPath(sha));
                    total -= size;
                    freed += size;
                }
            }
        }

        return new PruneReport(evicted, freed, total);
    }
}

/// <summary>One local entry and when a build last used it.</summary>
public sealed record CacheEntryInfo(CacheManifest Manifest, DateTime LastUsedUtc);

/// <summary>What <see cref="LocalCache.Verify"/> found.</summary>
public sealed record VerifyReport(int GoodEntries, int RemovedEntries, int DamagedBlobs);

/// <summary>What <see cref="LocalCache.Prune"/> removed and what remains.</summary>
public sealed record PruneReport(IReadOnlyList<string> Evicted, long FreedBytes, long RemainingBytes);
