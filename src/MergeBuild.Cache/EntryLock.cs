namespace MergeBuild.Caching;

/// <summary>
/// An exclusive lock on one cache entry, held by an open lock file (<c>FileShare.None</c>: an OS file lock, so it is
/// released when the holder exits, even when killed). Two builds filling the same entry take turns: the second waits
/// and then finds the entry the first stored.
/// </summary>
public sealed class EntryLock : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
    private readonly FileStream stream;

    private EntryLock(FileStream stream) => this.stream = stream;

    /// <summary>Waits up to <paramref name="timeout"/> for the lock; null when another holder kept it that long.</summary>
    public static EntryLock? TryAcquire(string lockFile, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockFile)!);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                // The file is never deleted: deleting it would let a waiter lock a fresh file while a holder keeps the old one.
                return new EntryLock(new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(Poll);
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException) when (DateTime.UtcNow < deadline)
            {
                // Windows reports a file locked by another process this way for a moment while it is being created.
                Thread.Sleep(Poll);
            }
        }
    }

    public void Dispose() => stream.Dispose();
}
