using System.Globalization;
using MergeBuild.Execution;

namespace MergeBuild.Fingerprints;

/// <summary>
/// Content hashes of files remembered by (path, size, last write time), so an up-to-date build does not re-read
/// gigabytes of weights: a file is hashed again only when its size or timestamp changes. Touching a file without
/// changing it costs one re-hash, after which the (unchanged) hash is remembered with the new timestamp.
/// </summary>
public sealed class ContentHashCache
{
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
    public string Hash(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        var ticks = info.LastWriteTimeUtc.Ticks;
        if (entries.TryGetValue(full, out var entry) && entry.Size == info.Length && entry.Ticks == ticks)
        {
            return entry.Hash;
        }

        var hash = ContentHash.OfFile(full);
        entries[full] = (info.Length, ticks, hash);
        changed = true;
        Misses++;
        return hash;
    }

    /// <summary>Writes the cache back when it learned something (atomically: a temporary file, then a move).</summary>
    public void Save(string path)
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
