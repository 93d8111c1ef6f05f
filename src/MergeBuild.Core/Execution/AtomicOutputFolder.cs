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
        File.WriteAllText(PathOf(MarkerFileName), markerContent);
        try
        {
            if (Directory.Exists(Destination))
            {
                // Two renames: the previous output stays whole until the new one is in place.
                var previous = StagingPath[..^".tmp".Length] + ".old";
                Directory.Move(Destination, previous);
                Directory.Move(StagingPath, Destination);
                Directory.Delete(previous, recursive: true);
            }
            else
            {
                Directory.Move(StagingPath, Destination);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MergeBuildException(ErrorCodes.OutputIo,
                $"cannot move the finished merge into '{Destination}': {e.Message}", new SourceLocation(Destination),
                "Check permissions and free space; the previous output, if any, was left in place.", e);
        }

        committed = true;
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
