using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Starts writing a just-written file range to disk without waiting for it: sync_file_range(2) with
/// SYNC_FILE_RANGE_WRITE on Linux, a no-op elsewhere. The disk then drains the output while the workers compute, and
/// the flush that makes the output durable before it is committed waits only for the last few windows; without it
/// that flush wrote the whole output at the end, a quarter of a 3 × 1 GB linear merge's wall time on this VM.
/// </summary>
internal static partial class WriteBehind
{
    private const uint SyncFileRangeWrite = 2;

    public static void Start(SafeFileHandle file, long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return;
        }

        // Advisory: a failure here (an old kernel, a file system without it) only means the final flush does it all,
        // and a real I/O error surfaces there.
        _ = SyncFileRange(file, offset, length, SyncFileRangeWrite);
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(SafeFileHandle file, long offset, long length, uint flags);
}
