using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Writes a checkpoint laid out by a <see cref="CheckpointLayout"/>. Every shard file is created at its final
/// size and its header written first; tensor bytes are then written at their positions, in any order and from any
/// number of threads, so the output never has to be held in memory (see <see cref="OutputFile"/> for how they reach the
/// disk). <see cref="Complete"/> verifies that every byte of every tensor was written, then waits until all of it is
/// on disk, before the checkpoint is declared done.
/// </summary>
public sealed class CheckpointWriter : IDisposable
{
    private readonly CheckpointLayout _layout;
    private readonly string _folder;
    private readonly OutputFile[] _files;
    private readonly Dictionary<string, (int Shard, TensorInfo Tensor, WrittenRanges Written)> _tensors;
    private int _state; // 0 open, 1 completed, 2 disposed

    private CheckpointWriter(string folder, CheckpointLayout layout, OutputFile[] files)
    {
        _folder = folder;
        _layout = layout;
        _files = files;
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
    /// <param name="folder">The output folder.</param>
    /// <param name="layout">The shards and their tensors.</param>
    /// <param name="aroundPageCache">
    /// Write the shards around the page cache where the OS and file system allow it (see <see cref="DirectWrites"/>):
    /// cheaper, and it leaves the inputs cached, but a reader right after the merge reads the output from disk.
    /// </param>
    public static CheckpointWriter Create(string folder, CheckpointLayout layout, bool aroundPageCache = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(layout);
        var fullFolder = Path.GetFullPath(folder);
        List<OutputFile> files = [];
        var path = fullFolder;
        try
        {
            Directory.CreateDirectory(fullFolder);
            foreach (var shard in layout.Shards)
            {
                path = Path.Combine(fullFolder, shard.FileName);
                var file = OutputFile.Create(path, shard.FileLength, aroundPageCache);
                files.Add(file);
                file.Write(0, shard.HeaderBytes);
                Execution.FaultInjection.Point("shard created");
            }

            return new CheckpointWriter(fullFolder, layout, [.. files]);
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            foreach (var file in files)
            {
                file.Dispose();
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
            _files[entry.Shard].Write(position, data);

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

        for (var i = 0; i < _files.Length; i++)
        {
            try
            {
                _files[i].Complete();
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

        foreach (var file in _files)
        {
            file.Dispose();
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
