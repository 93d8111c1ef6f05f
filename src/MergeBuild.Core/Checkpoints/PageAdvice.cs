using System.Runtime.InteropServices;

namespace MergeBuild.Checkpoints;

/// <summary>What the engine tells the OS about a range of a memory-mapped checkpoint.</summary>
public enum PageAdvice
{
    /// <summary>The range is about to be read: start reading it from disk now (read-ahead).</summary>
    WillNeed,

    /// <summary>The range has been read: drop it from this process's resident set (it stays in the page cache).</summary>
    DontNeed,
}

/// <summary>
/// madvise(2) on Linux; a no-op elsewhere. Mapped input pages count towards a process's resident memory until
/// unmapped, so without <see cref="PageAdvice.DontNeed"/> merging 3 × 10 GB models would show 30 GB resident even
/// though nothing is held.
/// </summary>
internal static partial class PageAdvisor
{
    private const int MadvWillNeed = 3;
    private const int MadvDontNeed = 4;
    private static readonly long PageSize = Environment.SystemPageSize;

    public static unsafe void Advise(byte* start, long length, PageAdvice advice)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
        {
            return;
        }

        // madvise needs a page-aligned start; widen the range to whole pages (harmless for a read-only file map).
        var address = (long)start;
        var aligned = address & ~(PageSize - 1);
        var span = length + (address - aligned);
        _ = Madvise((nint)aligned, (nuint)span, advice == PageAdvice.WillNeed ? MadvWillNeed : MadvDontNeed);
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
