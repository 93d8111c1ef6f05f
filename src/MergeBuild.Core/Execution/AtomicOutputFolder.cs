using MergeBuild.Diagnostics;

namespace MergeBuild.Execution;

/// <summary>
/// Builds an output folder beside its destination and moves it into place only when complete, so a killed or
/// failed merge never leaves a half-written model where a finished one is expected. An existing destination is
/// replaced only when MergeBuild wrote it (it carries <see cref="MarkerFileName"/>); anything else is refused
/// rather than overwritten.
/// </summary>
public sealed class AtomicOutputFolder : IDisposable
{
    /// <summary>The file that marks a folder as a MergeBuild output, safe to replace.</summary>
    public const string MarkerFileName = ".mergebuild-output";

    private bool committed;

    private AtomicOutputFolder(string destination, string stagingPath)
    {
        Destination = destination;
        StagingPath = stagingPath;
    }

    /// <summary>The folder the output ends up in.</summary>
    public string Destination { get; }

    /// <summary>The temporary folder beside <see cref="Destination"/> that receives the files.</summary>
    public string StagingPath { get; }

    /// <summary>Checks the destination can be (re)placed and creates the staging folder beside it.</summary>
    public static AtomicOutputFolder Begin(string destination)
    {
        var full = Path.GetFullPath(destination).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full) ?? throw new MergeBuildException(ErrorCodes.OutputNotWritable,
            "the output cannot be a file system root.", new SourceLocation(destination), "Choose a folder to create.");
        var name = Path.GetFileName(full);

        if (File.Exists(full))
        {
            throw new MergeBuildException(ErrorCodes.OutputNotWritable, $"the output '{destination}' is a file.",
                new SourceLocation(destination), "Choose a folder path for the merged model.");
        }

        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any() &&
            !File.Exists(Path.Combine(full, MarkerFileName)))
        {
            throw new MergeBuildException(ErrorCodes.OutputNotWritable,
                $"the output folder '{destination}' already holds files MergeBuild did not write; it will not replace them.",
                new SourceLocation(destination), "Choose an empty or new folder, or delete this one yourself.");
        }

        RemoveAbandoned(parent, name);
        var staging = Path.Combine(parent, $".{name}.mergebuild-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(staging);
            FaultInjection.Point("staging folder created");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MergeBuildException(ErrorCodes.OutputNotWritable,
                $"cannot create a folder beside the output '{destination}': {e.Message}",
                new SourceLocation(destination), "Check that the parent folder exists and is writable.", e);
        }

        return new AtomicOutputFolder(full, staging);
    }

    /// <summary>
    /// Deletes staging folders that a killed merge left beside the destination: their names carry the id of the
    /// process that made them, and a folder whose process is gone can be used by no one.
    /// </summary>
    private static void RemoveAbandoned(string parent, string name)
    {
        if (!Directory.Exists(parent))
        {
            return;
        }

        foreach (var folder in Directory.EnumerateDirectories(parent, $".{name}.mergebuild-*"))
        {
            var parts = Path.GetFileName(folder)[$".{name}.mergebuild-".Length..].Split('-');
            if (parts.Length < 2 || !int.TryParse(parts[0], out var pid) || pid == Environment.ProcessId || IsRunning(pid))
            {
                continue;
            }

            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another build may be cleaning it up at the same moment.
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A path inside the staging folder.</summary>
    public string PathOf(string fileName) => Path.Combine(StagingPath, fileName);

    /// <summary>Marks the staging folder complete and moves it to the destination, replacing a previous output.</summary>
    public void Commit(string markerContent)
    {
        string? previous = null;

        // Two merges into one destination (two builds of one project) may finish together; their renames must not
        // interleave. The lock is a file beside the destination; the OS drops it if its holder is killed.
        using var commitLock = CommitLock.Acquire(Destination);
        try
        {
            File.WriteAllText(PathOf(MarkerFileName), markerContent);
            FaultInjection.Point("marker written");
            if (Directory.Exists(Destination))
            {
                // Two renames: the previous output stays whole (under another name) until the new one is in place.
                // A kill between them leaves no destination, so the next build rebuilds; RemoveAbandoned deletes the
                // renamed previous output then.
                previous = StagingPath[..^".tmp".Length] + ".old";
                Directory.Move(Destination, previous);
                FaultInjection.Point("previous output moved aside");
                Directory.Move(StagingPath, Destination);
                FaultInjection.Point("new output moved into place");
                committed = true;
                DeleteQuietly(previous);
            }
            else
            {
                Directory.Move(StagingPath, Destination);
                FaultInjection.Point("new output moved into place");
                committed = true;
            }
        }
        catch (Exception e) when (!committed && e is IOException or UnauthorizedAccessException)
        {
            // The previous output was moved aside but the new one could not take its place: put it back, so the
            // promise below holds.
            if (previous is not null && Directory.Exists(previous) && !Directory.Exists(Destination))
            {
                Directory.Move(previous, Destination);
            }

            throw new MergeBuildException(ErrorCodes.OutputIo,
                $"cannot move the finished merge into '{Destination}': {e.Message}", new SourceLocation(Destination),
                "Check permissions and free space; the previous output, if any, was left in place.", e);
        }
    }

    // The new output is in place; failing to delete the old one must not fail the merge (the next merge beside
    // this destination removes it as abandoned).
    private static void DeleteQuietly(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
            FaultInjection.Point("previous output deleted");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes the staging folder unless the output was committed.</summary>
    public void Dispose()
    {
        if (committed || !Directory.Exists(StagingPath))
        {
            return;
        }

        try
        {
            Directory.Delete(StagingPath, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leaving a hidden temporary folder behind is harmless; the error that got us here matters more.
        }
    }
}
