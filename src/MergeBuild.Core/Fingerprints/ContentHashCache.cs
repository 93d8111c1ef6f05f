using System.Globalization;
using MergeBuild.Execution;

namespace MergeBuild.Fingerprints;

/// <summary>
/// Content hashes of files remembered by (path, size, last write time), so an up-to-date build does not re-read
/// gigabytes of weights: a file is hashed again only when its size or timestamp changes. Touching a file without
/// changing it costs one re-hash, after which the (unchanged) hash is remembered with the new timestamp.
/// Safe to use from several threads (the merge's input check hashes files in parallel).
/// </summary>
public sealed class ContentHashCache : IFileHasher
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, (long Size, long Ticks, string Hash)> entries = new(StringComparer.Ordinal);
    private bool changed;

    /// <summary>Loads the cache from <paramref name="path"/>; a missing or unreadable file is an empty cache.</summary>
    public static ContentHashCache Load(string? path)
    {
        var cache = new ContentHashCache();
        if (path is null || !File.Exists(path))
        {
            return cache;
        }

        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split('\t', 4);
                if (parts.Length == 4 &&
                    long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size) &&
                    long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
                {
                    cache.entries[parts[3]] = (size, ticks, parts[0]);
                }
            }
        }
        catch (IOException)
        {
            // A damaged cache only costs re-hashing.
        }

        return cache;
    }

    /// <summary>Files hashed (rather than remembered) since this cache was loaded.</summary>
    public int Misses { get; private set; }

    /// <summary>The XxHash128 of <paramref name="path"/>'s content.</summary>
    public string Hash(string path) => ((IFileHasher)this).Hash(path).Hash;

    FileHash IFileHasher.Hash(string path)
    {
        var full = Path.GetFullPath(path);
        // The stat comes first: a write that lands while the file is being hashed moves the time past it.
        var info = new FileInfo(full);
        var (length, lastWrite) = (info.Length, info.LastWriteTimeUtc);
        lock (gate)
        {
            if (entries.TryGetValue(full, out var entry) && entry.Size == length && entry.Ticks == lastWrite.Ticks)
            {
                return new FileHash(length, lastWrite, entry.Hash);
            }
        }

        // Hashed outside the lock: other files are hashed meanwhile.
        var hash = ContentHash.OfFile(full);
        lock (gate)
        {
            entries[full] = (length, lastWrite.Ticks, hash);
            changed = true;
            Misses++;
        }

        return new FileHash(length, lastWrite, hash);
    }

    /// <summary>Writes the cache back when it learned something (atomically: a temporary file, then a move).</summary>
    public void Save(string path)
    {
        lock (gate)
        {
            SaveLocked(path);
        }
    }

    private void SaveLocked(string path)
    {
        if (!changed)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // Unique per writer: builds (and threads) sharing one memo each write their own file, the last rename wins.
        var temporary = path + "." + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllLines(temporary, entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e =>
            string.Create(CultureInfo.InvariantCulture, $"{e.Value.Hash}\t{e.Value.Size}\t{e.Value.Ticks}\t{e.Key}")));
        File.Move(temporary, path, overwrite: true);
        changed = false;
    }
}
