using System.Globalization;

namespace MergeBuild.Checkpoints;

/// <summary>
/// How an output checkpoint is split into files and where every tensor's bytes go, computed from shapes and
/// dtypes alone so the executor can write tensors in any order, from any thread, straight to their place.
/// </summary>
public sealed class CheckpointLayout
{
    private readonly Dictionary<string, (ShardLayout Shard, TensorInfo Tensor)> _locations;

    private CheckpointLayout(IReadOnlyList<ShardLayout> shards, IReadOnlyDictionary<string, string> metadata)
    {
        Shards = shards;
        Metadata = metadata;
        _locations = new(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            foreach (var tensor in shard.Tensors)
            {
                _locations.Add(tensor.Name, (shard, tensor));
            }
        }

        TotalSize = shards.Sum(s => s.DataLength);
    }

    /// <summary>The output files, in shard order.</summary>
    public IReadOnlyList<ShardLayout> Shards { get; }

    /// <summary>The <c>__metadata__</c> every shard's header carries.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The sum of all tensors' byte lengths (the index's <c>metadata.total_size</c>).</summary>
    public long TotalSize { get; }

    /// <summary>True when there is more than one shard, so an index file is written too.</summary>
    public bool IsSharded => Shards.Count > 1;

    /// <summary>
    /// Splits <paramref name="tensorsInOrder"/> into shards greedily, as mergekit does: walking the tensors in
    /// the given order, a new shard starts when the current one is non-empty and the next tensor would take it
    /// past <paramref name="maxShardBytes"/> (a single larger tensor gets a shard of its own). One shard is
    /// named <c>model.safetensors</c>; several are <c>model-00001-of-0000N.safetensors</c>.
    /// </summary>
    public static CheckpointLayout Plan(IReadOnlyList<PlannedTensor> tensorsInOrder, long maxShardBytes,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensorsInOrder);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        CheckNames(tensorsInOrder);

        List<List<PlannedTensor>> groups = [[]];
        long current = 0;
        foreach (var tensor in tensorsInOrder)
        {
            if (groups[^1].Count > 0 && current + tensor.ByteLength > maxShardBytes)
            {
                groups.Add([]);
                current = 0;
            }

            groups[^1].Add(tensor);
            current += tensor.ByteLength;
        }

        var frozenMetadata = metadata is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        var count = groups.Count;
        List<ShardLayout> shards = [];
        for (var i = 0; i < count; i++)
        {
            shards.Add(new ShardLayout(ShardFileName(i, count), groups[i], frozenMetadata));
        }

        return new CheckpointLayout(shards, frozenMetadata);
    }

    /// <summary>The shard holding <paramref name="name"/> and the tensor's place in it.</summary>
    public (ShardLayout Shard, TensorInfo Tensor) Locate(string name) =>
        _locations.TryGetValue(name, out var location)
            ? location
            : throw new ArgumentException($"The layout has no tensor '{name}'.", nameof(name));

    /// <summary>True when the layout has a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => _locations.ContainsKey(name);

    /// <summary>The <c>model.safetensors.index.json</c> bytes for this layout (transformers' format).</summary>
    public byte[] IndexBytes() =>
        SafetensorsJson.Index(TotalSize, _locations.Select(e => KeyValuePair.Create(e.Key, e.Value.Shard.FileName)));

    private static string ShardFileName(int index, int count) =>
        count == 1
            ? CheckpointFiles.SingleFileName
            : string.Create(CultureInfo.InvariantCulture, $"model-{index + 1:D5}-of-{count:D5}.safetensors");

    private static void CheckNames(IReadOnlyList<PlannedTensor> tensors)
    {
        HashSet<string> seen = new(StringComparer.Ordinal);
        foreach (var tensor in tensors)
        {
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
            if (tensor.Name == "__metadata__")
            {
                throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
            }

            if (!seen.Add(tensor.Name))
            {
                throw new ArgumentException($"Tensor '{tensor.Name}' is planned twice.", nameof(tensors));
            }
        }
    }
}
