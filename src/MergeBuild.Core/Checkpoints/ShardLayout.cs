namespace MergeBuild.Checkpoints;

/// <summary>
/// One output file of a <see cref="CheckpointLayout"/>: its name, its tensors (sorted by name, data contiguous
/// in that order) and the exact header bytes, all fixed before any tensor data exists.
/// </summary>
public sealed class ShardLayout
{
    private readonly Dictionary<string, TensorInfo> _byName;

    internal ShardLayout(string fileName, IEnumerable<PlannedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        FileName = fileName;
        List<TensorInfo> laidOut = [];
        long offset = 0;
        foreach (var planned in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            laidOut.Add(new TensorInfo(planned.Name, planned.DType, [.. planned.Shape], offset, planned.ByteLength));
            offset = checked(offset + planned.ByteLength);
        }

        Tensors = laidOut;
        DataLength = offset;
        HeaderBytes = SafetensorsJson.Header(metadata, laidOut);
        FileLength = checked(HeaderBytes.Length + offset);
        _byName = laidOut.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file name inside the output folder, e.g. <c>model-00001-of-00003.safetensors</c>.</summary>
    public string FileName { get; }

    /// <summary>The shard's tensors, sorted by name (ordinal); their data is contiguous in this order.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The 8-byte little-endian length, the compact JSON header and its space padding.</summary>
    public byte[] HeaderBytes { get; }

    /// <summary>Where the data section starts: <c>HeaderBytes.Length</c>.</summary>
    public long DataStart => HeaderBytes.Length;

    /// <summary>The size of the data section: the sum of the tensors' byte lengths.</summary>
    public long DataLength { get; }

    /// <summary>The complete file size.</summary>
    public long FileLength { get; }

    /// <summary>The tensor called <paramref name="name"/> in this shard, or null.</summary>
    public TensorInfo? Find(string name) => _byName.GetValueOrDefault(name);
}
