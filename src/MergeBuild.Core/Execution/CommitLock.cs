using MergeBuild.Diagnostics;

namespace MergeBuild.Execution;

/// <summary>
/// An exclusive lock on <c>.NAME.mergebuild.lock</c> beside an output folder, held while a finished merge is moved
/// into place. It is an open file handle with no sharing (an advisory <c>flock</c> on Unix), so a killed holder
/// releases it at once and nothing stale is left to clean up.
/// </summary>
internal sealed class CommitLock : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(5);
    private readonly FileStream _handle;

    private CommitLock(FileStream handle) => _handle = handle;

    public static CommitLock Acquire(string destination)
    {
        var path = Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}.mergebuild.lock");
        var deadline = DateTime.UtcNow + Patience;
        var wait = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            try
            {
                return new CommitLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (DateTime.UtcNow < deadline && e is not FileNotFoundException and not DirectoryNotFoundException)
            {
                // Held by another merge finishing into the same folder; its renames take milliseconds.
                Thread.Sleep(wait);
                wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 200));
            }
            catch (IOException e)
            {
                throw new MergeBuildException(ErrorCodes.OutputIo,
                    $"another merge has been moving its output into '{destination}' for {Patience.TotalMinutes} minutes.",
                    new SourceLocation(destination), $"Check for a hung MergeBuild process holding '{path}'.", e);
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
