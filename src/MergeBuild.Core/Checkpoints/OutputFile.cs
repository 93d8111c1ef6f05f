using Microsoft.Win32.SafeHandles;

namespace MergeBuild.Checkpoints;

/// <summary>
/// One output file, created at its final length and written at positions, in any order, from any thread: around the
/// page cache where the OS and file system allow it (<see cref="DirectWrites"/>), through it otherwise, each write
/// then handed to the disk at once (<see cref="WriteBehind"/>).
/// </summary>
internal sealed class OutputFile : IDisposable
{
    private readonly SafeFileHandle handle;
    private readonly DirectWrites? direct;
    private readonly Lock writeLock = new();

    private OutputFile(SafeFileHandle handle, DirectWrites? direct)
    {
        this.handle = handle;
        this.direct = direct;
    }

    /// <summary>Creates (replacing) <paramref name="path"/> at <paramref name="length"/> bytes.</summary>
    /// <param name="path">The file.</param>
    /// <param name="length">Its final length.</param>
    /// <param name="aroundPageCache">Write around the page cache where possible.</param>
    public static OutputFile Create(string path, long length, bool aroundPageCache)
    {
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, length);
        try
        {
            RandomAccess.SetLength(handle, length);
            return new OutputFile(handle, aroundPageCache ? DirectWrites.TryOpen(path, handle, length) : null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="position"/>.</summary>
    public void Write(long position, ReadOnlySpan<byte> data)
    {
        if (direct is not null)
        {
            direct.Write(position, data);
            return;
        }

        // One write per file at a time: a buffered write holds the inode's lock for its whole copy, and a second writer
        // spins on that lock in the kernel, burning the core another worker could compute on (perf showed 10-20% of a
        // merge's cycles in rwsem_spin_on_owner); waiting here sleeps instead.
        lock (writeLock)
        {
            RandomAccess.Write(handle, data, position);
        }

        WriteBehind.Start(handle, position, data.Length);
    }

    /// <summary>Waits for every write and flushes the file to disk.</summary>
    public void Complete()
    {
        direct?.Complete();
        RandomAccess.FlushToDisk(handle);
    }

    public void Dispose()
    {
        direct?.Dispose();
        handle.Dispose();
    }
}
