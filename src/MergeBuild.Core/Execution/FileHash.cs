namespace MergeBuild.Execution;

/// <summary>A file's content hash and the size and last-write time it was taken at.</summary>
public readonly record struct FileHash(long Length, DateTime LastWriteUtc, string Hash);

/// <summary>
/// How a merge learns the content hashes of its inputs. The default reads every file; a memo
/// (<see cref="Fingerprints.ContentHashCache"/>) answers for files whose size and time have not moved since it last
/// hashed them, so a rebuild does not read gigabytes of unchanged weights twice (once for the build's fingerprint,
/// once for the merge's input check). Implementations are called from several threads at once.
/// </summary>
public interface IFileHasher
{
    /// <summary>The hash of <paramref name="path"/>'s content, with the size and time it belongs to.</summary>
    FileHash Hash(string path);
}

/// <summary>Reads and hashes every file it is asked about.</summary>
public sealed class ReadingFileHasher : IFileHasher
{
    public static readonly ReadingFileHasher Instance = new();

    public FileHash Hash(string path)
    {
        // The stat comes first: a write that lands while the file is being hashed moves the time past it.
        var info = new FileInfo(path);
        var (length, lastWrite) = (info.Length, info.LastWriteTimeUtc);
        return new FileHash(length, lastWrite, ContentHash.OfFile(path));
    }
}
