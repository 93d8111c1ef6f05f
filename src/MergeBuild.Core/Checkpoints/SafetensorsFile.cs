using System.IO.MemoryMappedFiles;
using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>
/// A safetensors file mapped read-only into memory. Tensor bytes are returned as spans straight into the map,
/// so nothing is copied and any number of threads may read at once. Spans must not be used after
/// <see cref="Dispose"/>.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private int _disposed;

    private SafetensorsFile(SafetensorsHeader header, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        Header = header;
        _map = map;
        _view = view;
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        _data = start + view.PointerOffset + header.DataStart;
    }

    /// <summary>The file's validated header.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>
    /// Opens, validates and maps the file at <paramref name="path"/>. Throws <see cref="MergeBuildException"/>
    /// (MB1001, MB1003, MB1004, MB1008) like <see cref="SafetensorsHeader.Read(string)"/>.
    /// </summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new MergeBuildException(ErrorCodes.CheckpointNotFound, "The safetensors file does not exist.",
                new SourceLocation(fullPath), "Check the path.");
        }

        FileStream? stream = null;
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);

            // The header is read through the same handle that gets mapped, so both see the same file.
            var header = SafetensorsHeader.Read(stream.SafeFileHandle, fullPath);
            var length = stream.Length;
            map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
            stream = null;
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            var file = new SafetensorsFile(header, map, view);
            map = null;
            view = null;
            return file;
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            throw CheckpointErrors.Io(fullPath, ex);
        }
        finally
        {
            view?.Dispose();
            map?.Dispose();
            stream?.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="length"/> bytes of <paramref name="tensor"/> starting <paramref name="offsetInTensor"/>
    /// bytes into it. Works for tensors of any size; only the returned slice is limited to 2 GB.
    /// </summary>
    public ReadOnlySpan<byte> GetBytes(TensorInfo tensor, long offsetInTensor, int length)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        CheckBelongs(tensor);
        ArgumentOutOfRangeException.ThrowIfNegative(offsetInTensor);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offsetInTensor > tensor.ByteLength - length)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"Bytes [{offsetInTensor}, {offsetInTensor + length}) are outside tensor '{tensor.Name}' " +
                $"({tensor.ByteLength} bytes).");
        }

        return new ReadOnlySpan<byte>(_data + tensor.DataOffset + offsetInTensor, length);
    }

    /// <summary>
    /// Tells the OS that bytes of <paramref name="tensor"/> are about to be read (read-ahead) or are done with
    /// (dropped from this process's resident memory; the page cache keeps them). Advisory: never changes data.
    /// </summary>
    public void Advise(TensorInfo tensor, long offsetInTensor, long length, PageAdvice advice)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var first = Math.Clamp(offsetInTensor, 0, tensor.ByteLength);
        var start = tensor.DataOffset + first;
        var end = tensor.DataOffset + Math.Clamp(offsetInTensor + length, first, tensor.ByteLength);
        if (advice == PageAdvice.DontNeed)
        {
            // A page fault maps its neighbours too (Linux's fault-around, 64 KB), so reading a window maps pages just
            // outside it, often of another tensor, that no release of this window's would cover: they piled up and
            // peak memory grew with the number of tensors (a 2 GB model's TIES merge: 155 MB of mapped input pages).
            // Dropping a mapping is harmless (the page cache keeps the bytes; a reader maps them again).
            start = Math.Max(0, start - FaultAroundBytes);
            end = Math.Min(Header.DataLength, end + FaultAroundBytes);
        }

        PageAdvisor.Advise(_data + start, end - start, advice);
    }

    /// <summary>How far beyond a faulting page Linux maps pages of the file (fault_around_bytes, 64 KB by default).</summary>
    private const long FaultAroundBytes = 64 << 10;

    /// <summary>All bytes of <paramref name="tensor"/>; throws when it is larger than 2 GB (read it in slices).</summary>
    public ReadOnlySpan<byte> GetBytes(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ByteLength > int.MaxValue)
        {
            throw new ArgumentException(
                $"Tensor '{tensor.Name}' has {tensor.ByteLength} bytes, too many for one span; read it in slices.",
                nameof(tensor));
        }

        return GetBytes(tensor, 0, (int)tensor.ByteLength);
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    // A TensorInfo from another file would address the wrong bytes (or outside the map): insist it is ours.
    private void CheckBelongs(TensorInfo tensor)
    {
        var own = Header.Find(tensor.Name);
        if (own is null || own.DataOffset != tensor.DataOffset || own.ByteLength != tensor.ByteLength)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' is not an entry of {Header.Path}.", nameof(tensor));
        }
    }
}
