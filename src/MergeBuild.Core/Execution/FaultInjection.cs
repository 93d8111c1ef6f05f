using System.Diagnostics;

namespace MergeBuild.Execution;

/// <summary>
/// Test-only fault points on the output path, switched on by the <c>MERGEBUILD_FAULT</c> environment variable, so
/// tests can prove that a merge killed or failing at any step never leaves a half-written model that looks done.
/// <c>kill@N</c> kills the process (SIGKILL: no finally blocks, no flush) at the N-th point reached;
/// <c>enospc@N</c> throws the IOException a full disk gives; <c>eacces@N</c> the exception of a permission denial.
/// <c>MERGEBUILD_FAULT_LOG=file</c> appends the name of every point reached, so a test can count them. Unset (always,
/// outside tests) each point costs one static read.
/// </summary>
public static class FaultInjection
{
    /// <summary>The errno of "No space left on device" on Linux and macOS, carried as the IOException's HResult.</summary>
    public const int NoSpaceErrno = 28;

    private static readonly (string Kind, long At)? Fault = Parse(Environment.GetEnvironmentVariable("MERGEBUILD_FAULT"));
    private static readonly string? LogPath = Environment.GetEnvironmentVariable("MERGEBUILD_FAULT_LOG");
    private static readonly Lock LogLock = new();
    private static long _reached;

    /// <summary>Marks one step of writing an output; acts when it is the configured one.</summary>
    public static void Point(string name)
    {
        if (Fault is null && LogPath is null)
        {
            return;
        }

        var index = Interlocked.Increment(ref _reached);
        if (LogPath is not null)
        {
            lock (LogLock)
            {
                File.AppendAllText(LogPath, $"{index} {name}\n");
            }
        }

        if (Fault is not { } fault || index != fault.At)
        {
            return;
        }

        switch (fault.Kind)
        {
            case "kill":
                using (var self = Process.GetCurrentProcess())
                {
                    self.Kill();
                }

                Thread.Sleep(Timeout.Infinite);
                break;
            case "enospc":
                throw new IOException($"No space left on device (injected at '{name}')", NoSpaceErrno);
            case "eacces":
                throw new UnauthorizedAccessException($"Access to the path is denied (injected at '{name}').");
        }
    }

    private static (string, long)? Parse(string? value)
    {
        var parts = value?.Split('@');
        return parts is [var kind, var at] && long.TryParse(at, out var n) ? (kind, n) : null;
    }
}
