using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Reads tensor bytes from a model folder. Headers are validated up front (<see cref="CheckpointFiles"/>); each
/// shard is memory-mapped the first time one of its tensors is read. Safe to use from many threads at once.
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    private readonly Dictionary<string, Lazy<SafetensorsFile>> _shards;
    private int _disposed;

    private CheckpointReader(CheckpointFiles files)
    {
        Files = files;
        _shards = new(StringComparer.Ordinal);
        foreach (var header in files.Headers)
        {
            _shards.Add(header.Path, new Lazy<SafetensorsFile>(() => OpenShard(header),
                LazyThreadSafetyMode.ExecutionAndPublication));
        }
    }

    /// <summary>The model's weight files and tensors.</summary>
    public CheckpointFiles Files { get; }

    /// <summary>Discovers and validates the weights of <paramref name="modelFolder"/> (see <see cref="CheckpointFiles.Discover"/>).</summary>
    public static CheckpointReader Open(string modelFolder) => new(CheckpointFiles.Discover(modelFolder));

    /// <summary>True when the model has a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => Files.Find(name) is not null;

    /// <summary>The tensor called <paramref name="name"/>; MB1006 naming it and the folder when there is none.</summary>
    public TensorInfo Get(string name) => Files.Find(name) ?? throw Files.MissingTensorError(name);

    /// <summary><paramref name="length"/> bytes of tensor <paramref name="name"/> from <paramref name="offsetInTensor"/>.</summary>
    public ReadOnlySpan<byte> GetBytes(string name, long offsetInTensor, int length)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var tensor = Get(name);
        return _shards[Files.FileOf(name)].Value.GetBytes(tensor, offsetInTensor, length);
    }

    /// <summary>Read-ahead or release advice for a byte range of tensor <paramref name="name"/> (see <see cref="PageAdvice"/>).</summary>
    public void Advise(string name, long offsetInTensor, long length, PageAdvice advice)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _shards[Files.FileOf(name)].Value.Advise(Get(name), offsetInTensor, length, advice);
    }

    /// <summary>Unmaps every shard that was opened.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var shard in _shards.Values)
        {
            if (shard.IsValueCreated)
            {
                shard.Value.Dispose();
            }
        }
    }

    // The header is read again when mapping; insist it still describes the same tensors as at discovery.
    private static SafetensorsFile OpenShard(SafetensorsHeader expected)
    {
        var file = SafetensorsFile.Open(expected.Path);
        var actual = file.Header;
        var same = actual.DataStart == expected.DataStart && actual.DataLength == expected.DataLength &&
                   actual.Tensors.Count == expected.Tensors.Count &&
                   expected.Tensors.All(t => actual.Find(t.Name) is { } a && a.DataOffset == t.DataOffset &&
                                             a.ByteLength == t.ByteLength && a.DType == t.DType);
        if (!same)
        {
            file.Dispose();
            throw CheckpointErrors.Changed(expected.Path, "its header differs from when the model was first read.");
        }

        return file;
    }
}
