using MergeBuild.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Writes a checkpoint laid out by a <see cref="CheckpointLayout"/>. Every shard file is created at its final
/// size with its header in place; tensor bytes are then written at their positions, in any order and from any
/// number of threads, so the output never has to be held in memory. <see cref="Complete"/> verifies that every
/// byte of every tensor was written before the checkpoint is declared done.
/// </summary>
public sealed class CheckpointWriter : IDisposable
{
    private readonly CheckpointLayout _layout;
    private readonly string _folder;
    private readonly SafeFileHandle[] _handles;
    private readonly Lock[] _fileLocks;
    private readonly Dictionary<string, (int Shard, TensorInfo Tensor, WrittenRanges Written)> _tensors;
    private int _state; // 0 open, 1 completed, 2 disposed

    private CheckpointWriter(string folder, CheckpointLayout layout, SafeFileHandle[] handles)
    {
        _folder = folder;
        _layout = layout;
        _handles = handles;
        _fileLocks = [.. handles.Select(_ => new Lock())];
        _tensors = new(StringComparer.Ordinal);
        for (var i = 0; i < layout.Shards.Count; i++)
        {
            foreach (var tensor in layout.Shards[i].Tensors)
            {
                _tensors.Add(tensor.Name, (i, tensor, new WrittenRanges()));
            }
        }
    }

    /// <summary>The output folder (full path).</summary>
    public string Folder => _folder;

    /// <summary>The full paths of the shard files, in shard order.</summary>
    public IReadOnlyList<string> Files => [.. _layout.Shards.Select(s => Path.Combine(_folder, s.FileName))];

    /// <summary>
    /// Creates <paramref name="folder"/> if needed, then creates (replacing) every shard file at its final size
    /// with its header written. MB4001 when the folder or a file cannot be created.
    /// </summary>
    public static CheckpointWriter Create(string folder, CheckpointLayout layout)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(layout);
        var fullFolder = Path.GetFullPath(folder);
        List<SafeFileHandle> handles = [];
        var path = fullFolder;
        try
        {
            Directory.CreateDirectory(fullFolder);
            foreach (var shard in layout.Shards)
            {
                path = Path.Combine(fullFolder, shard.FileName);
                var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.None,
                    shard.FileLength);
                handles.Add(handle);
                RandomAccess.SetLength(handle, shard.FileLength);
                RandomAccess.Write(handle, shard.HeaderBytes, 0);
                Execution.FaultInjection.Point("shard created");
            }

            return new CheckpointWriter(fullFolder, layout, [.. handles]);
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            foreach (var handle in handles)
            {
                handle.Dispose();
            }

            throw new MergeBuildException(ErrorCodes.OutputNotWritable, $"Cannot create the output file: {ex.Message}",
                new SourceLocation(path), "Check that the output folder is writable and the disk has space.", ex);
        }
    }

    /// <summary>
    /// Writes <paramref name="data"/> into tensor <paramref name="tensorName"/> starting
    /// <paramref name="offsetInTensor"/> bytes into it. Positional, so concurrent calls are safe. MB4002 on an
    /// I/O failure.
    /// </summary>
    public void Write(string tensorName, long offsetInTensor, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(tensorName);
        ThrowIfNotOpen();
        if (!_tensors.TryGetValue(tensorName, out var entry))
        {
            throw new ArgumentException($"The layout has no tensor '{tensorName}'.", nameof(tensorName));
        }

        var tensor = entry.Tensor;
        ArgumentOutOfRangeException.ThrowIfNegative(offsetInTensor);
        if (offsetInTensor > tensor.ByteLength - data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(data),
                $"Bytes [{offsetInTensor}, {offsetInTensor + data.Length}) are outside tensor '{tensorName}' " +
                $"({tensor.ByteLength} bytes).");
        }

        var shard = _layout.Shards[entry.Shard];
        var position = shard.DataStart + tensor.DataOffset + offsetInTensor;
        try
        {
            // One write per file at a time: a buffered write holds the inode's lock for its whole copy, and a second
            // writer spins on that lock in the kernel, burning the core another worker could compute on (perf showed
            // 10-20% of a merge's cycles in rwsem_spin_on_owner); waiting here sleeps instead.
            lock (_fileLocks[entry.Shard])
            {
                RandomAccess.Write(_handles[entry.Shard], data, position);
            }

            WriteBehind.Start(_handles[entry.Shard], position, data.Length);

            Execution.FaultInjection.Point("tensor bytes written");
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            throw WriteError(shard, ex);
        }

        entry.Written.Add(offsetInTensor, offsetInTensor + data.Length);
    }

    /// <summary>
    /// Checks that every tensor was fully written (MB4002 naming the first incomplete ones otherwise), flushes
    /// every shard to disk and, for a sharded layout, writes <c>model.safetensors.index.json</c>.
    /// </summary>
    public void Complete()
    {
        ThrowIfNotOpen();
        var incomplete = _tensors.Values
            .Where(t => t.Written.Covered != t.Tensor.ByteLength)
            .OrderBy(t => t.Tensor.Name, StringComparer.Ordinal)
            .ToList();
        if (incomplete.Count > 0)
        {
            var first = incomplete[0];
            var names = string.Join(", ", incomplete.Take(5).Select(t => $"'{t.Tensor.Name}'"));
            throw new MergeBuildException(ErrorCodes.OutputIo,
                $"The output is incomplete: {incomplete.Count} tensor(s) were not fully written ({names}" +
                $"{(incomplete.Count > 5 ? ", ..." : "")}); '{first.Tensor.Name}' has " +
                $"{first.Written.Covered} of {first.Tensor.ByteLength} bytes.",
                new SourceLocation(Path.Combine(_folder, _layout.Shards[first.Shard].FileName)),
                "This is a bug in the merge executor or the merge was interrupted; the output folder is not usable.");
        }

        for (var i = 0; i < _handles.Length; i++)
        {
            try
            {
                RandomAccess.FlushToDisk(_handles[i]);
            }
            catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
            {
                throw WriteError(_layout.Shards[i], ex);
            }
        }

        if (_layout.IsSharded)
        {
            var indexPath = Path.Combine(_folder, ShardIndex.FileName);
            try
            {
                File.WriteAllBytes(indexPath, _layout.IndexBytes());
            }
            catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
            {
                throw new MergeBuildException(ErrorCodes.OutputIo, $"Cannot write the shard index: {ex.Message}",
                    new SourceLocation(indexPath), "Check that the disk has space.", ex);
            }
        }

        Interlocked.CompareExchange(ref _state, 1, 0);
    }

    /// <summary>Closes every shard file (without the checks of <see cref="Complete"/>).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        foreach (var handle in _handles)
        {
            handle.Dispose();
        }
    }

    private void ThrowIfNotOpen()
    {
        var state = Volatile.Read(ref _state);
        ObjectDisposedException.ThrowIf(state == 2, this);
        if (state == 1)
        {
            throw new InvalidOperationException("The checkpoint was already completed.");
        }
    }

    private MergeBuildException WriteError(ShardLayout shard, Exception ex) =>
        ex is UnauthorizedAccessException
            ? new(ErrorCodes.OutputNotWritable, $"Writing the output was denied: {ex.Message}",
                new SourceLocation(Path.Combine(_folder, shard.FileName)), "Check the output folder's permissions.", ex)
            : new(ErrorCodes.OutputIo,
                $"Writing the output failed: {(ex.HResult == Execution.FaultInjection.NoSpaceErrno ? "the disk is full" : ex.Message)}",
                new SourceLocation(Path.Combine(_folder, shard.FileName)), "Check that the disk has space.", ex);
}
