using System.Globalization;
using System.Security.Cryptography;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;

namespace MergeBuild.Caching;

/// <summary>
/// The content-addressed store on this machine, shared by all projects and branches:
/// <c>blobs/&lt;aa&gt;/&lt;sha256&gt;</c> holds each distinct file once; <c>entries/&lt;fingerprint&gt;.json</c> lists a
/// merge's files (path, size, SHA-256) and is written last, by rename, so an entry is visible only when its blobs are
/// all there. An entry's last write time is its last use (for least-recently-used eviction). Every restore re-hashes
/// what it copies: a damaged blob is reported, removed and the merge rebuilt.
/// </summary>
public sealed partial class LocalCache
{
    /// <summary>Orphan blobs younger than this are kept by prune: a build may be storing the entry that needs them.</summary>
    public static readonly TimeSpan OrphanGrace = TimeSpan.FromHours(1);

    private readonly TimeProvider clock;

    public LocalCache(string root, TimeProvider? clock = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        this.clock = clock ?? TimeProvider.System;
    }

    public string Root { get; }

    private string EntriesFolder => Path.Combine(Root, "entries");

    private string BlobsFolder => Path.Combine(Root, "blobs");

    private string TemporaryFolder => Path.Combine(Root, "tmp");

    public string EntryPath(string fingerprint) => Path.Combine(EntriesFolder, CheckedFingerprint(fingerprint) + ".json");

    public string BlobPath(string sha256) => Path.Combine(BlobsFolder, sha256[..2], sha256);

    /// <summary>A fresh file name under the cache's own temporary folder (same file system as the blobs: renames are atomic).</summary>
    public string NewTemporaryPath()
    {
        Directory.CreateDirectory(TemporaryFolder);
        return Path.Combine(TemporaryFolder, $"{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Waits for the entry's lock (see <see cref="EntryLock"/>); null after <paramref name="timeout"/>.</summary>
    public EntryLock? Lock(string fingerprint, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        EntryLock.TryAcquire(Path.Combine(Root, "locks", CheckedFingerprint(fingerprint) + ".lock"), timeout, cancellationToken);

    /// <summary>The entry's manifest, or null when there is none; an unreadable one is reported and removed.</summary>
    public CacheManifest? Find(string fingerprint, Action<CacheWarning>? warn = null)
    {
        var path = EntryPath(fingerprint);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            return CacheManifest.Parse(json, fingerprint, path);
        }
        catch (MergeBuildException e)
        {
            warn?.Invoke(new CacheWarning(ErrorCodes.CacheEntryDamaged, path, e.Message + " The entry was removed."));
            TryDelete(path);
            return null;
        }
    }

    /// <summary>
    /// Copies the entry's files into <paramref name="outputFolder"/> (atomically, through <see cref="AtomicOutputFolder"/>),
    /// checking each against its SHA-256 as it is copied. False when there is no entry or a file is missing or damaged
    /// (then reported, and the damaged blob and the entry removed so the rebuilt merge replaces them).
    /// </summary>
    public bool TryRestore(string fingerprint, string outputFolder, Action<CacheWarning>? warn = null)
    {
        var manifest = Find(fingerprint, warn);
        if (manifest is null)
        {
            return false;
        }

        using var output = AtomicOutputFolder.Begin(outputFolder);
        foreach (var file in manifest.Files)
        {
            var blob = BlobPath(file.Sha256);
            var destination = CachePaths.Resolve(output.StagingPath, file.Path, EntryPath(fingerprint));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            string found;
            long copied;
            try
            {
                using var source = new FileStream(blob, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                using var target = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                copied = Sha256Hash.CopyHashing(source, target, file.Size, sha);
                found = Sha256Hash.Hex(sha);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                warn?.Invoke(new CacheWarning(ErrorCodes.CacheEntryDamaged, blob,
                    $"the cached file '{file.Path}' of entry {fingerprint} is missing; the entry was removed and the merge is rebuilt."));
                TryDelete(EntryPath(fingerprint));
                return false;
            }

            if (copied != file.Size || found != file.Sha256)
            {
                warn?.Invoke(new CacheWarning(ErrorCodes.CacheEntryDamaged, blob,
                    $"the cached file '{file.Path}' of entry {fingerprint} does not match its hash (expected SHA-256 " +
                    $"{file.Sha256}, {file.Size} bytes; found {found}, {copied} bytes); it was removed and the merge is rebuilt."));
                TryDelete(blob);
                TryDelete(EntryPath(fingerprint));
                return false;
            }
        }

        output.Commit(string.Create(CultureInfo.InvariantCulture,
            $"{{\"engine\": \"MergeBuild {EngineInfo.Version}\", \"restoredFromCache\": \"{fingerprint}\"}}\n"));
        Touch(fingerprint);
        return true;
    }

    /// <summary>True when the blob is present with the expected size (its content is checked when it is used).</summary>
    public bool HasBlob(string sha256, long size)
    {
        var info = new FileInfo(BlobPath(sha256));
        return info.Exists && info.Length == size;
    }

    /// <summary>
    /// Moves a file whose SHA-256 the caller computed into the store. When the blob is already there (the same bytes
    /// from another merge, or a concurrent writer), the copy is dropped and the existing blob's time refreshed.
    /// </summary>
    public void AddBlob(string temporaryFile, string sha256)
    {
        var blob = BlobPath(sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        var size = new FileInfo(temporaryFile).Length;
        if (HasBlob(sha256, size))
        {
            File.Delete(temporaryFile);
            File.SetLastWriteTimeUtc(blob, clock.GetUtcNow().UtcDateTime);
            return;
        }

        File.Move(temporaryFile, blob, overwrite: true);
    }

    /// <summary>
    /// Files at least this large (weight shards) are stored as hard links to the output's file when the cache is on
    /// the same volume, instead of copies: storing a merge then costs one hashing read, not a second copy of the
    /// model (measured: storing a 1 GB linear merge took three times as long as the merge itself). Smaller files
    /// (config.json, tokenizer files, the model card), the ones a user might edit in place, are always copied.
    /// </summary>
    /// <remarks>
    /// A shard edited in place after the merge would change its cached blob too; every restore re-hashes what it
    /// copies, so such a blob is reported (MB4101) and the merge runs again, as for any damaged blob. MergeBuild itself
    /// never writes into an existing output file: every merge writes new files and renames them into place.
    /// </remarks>
    public const long LinkMinimumBytes = 16L << 20;

    /// <summary>Stores a finished output folder under <paramref name="fingerprint"/>: its files as blobs, then the entry.</summary>
    public CacheManifest Store(string fingerprint, string folder)
    {
        var files = new List<CachedFile>();
        foreach (var relative in CachePaths.FilesOf(folder))
        {
            var source = Path.Combine(folder, relative);
            var temporary = NewTemporaryPath();
            string sha256;
            long size;
            try
            {
                if (new FileInfo(source).Length >= LinkMinimumBytes && HardLink.TryCreate(source, temporary))
                {
                    size = new FileInfo(temporary).Length;
                    sha256 = Sha256Hash.OfFile(temporary);
                }
                else
                {
                    (size, sha256) = CopyHashing(source, temporary);
                }

                AddBlob(temporary, sha256);
            }
            finally
            {
                TryDelete(temporary);
            }

            files.Add(new CachedFile(relative, size, sha256));
        }

        var manifest = new CacheManifest(fingerprint, files);
        WriteEntry(manifest);
        return manifest;
    }

    private static (long Size, string Sha256) CopyHashing(string source, string target)
    {
        using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var to = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var size = Sha256Hash.CopyHashing(from, to, long.MaxValue - 1, sha);
        return (size, Sha256Hash.Hex(sha));
    }

    /// <summary>Publishes an entry whose blobs are all present (temporary file, then rename).</summary>
    public void WriteEntry(CacheManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var path = EntryPath(manifest.Fingerprint);
        Directory.CreateDirectory(EntriesFolder);
        var temporary = NewTemporaryPath();
        File.WriteAllText(temporary, manifest.ToJson());
        File.Move(temporary, path, overwrite: true);
        Touch(manifest.Fingerprint);
    }

    private IEnumerable<FileInfo> Blobs() =>
        Directory.Exists(BlobsFolder)
            ? new DirectoryInfo(BlobsFolder).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => Sha256Hash.IsWellFormed(f.Name))
            : [];

    private void Touch(string fingerprint)
    {
        try
        {
            File.SetLastWriteTimeUtc(EntryPath(fingerprint), clock.GetUtcNow().UtcDateTime);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Evicted meanwhile: the output is already restored; only the recency is lost.
        }
    }

    private static string CheckedFingerprint(string fingerprint) =>
        CacheManifest.IsFingerprint(fingerprint)
            ? fingerprint
            : throw new ArgumentException($"'{fingerprint}' is not a merge fingerprint.", nameof(fingerprint));

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another build may hold or remove it; a leftover is found and reported by the next check.
        }
    }
}
