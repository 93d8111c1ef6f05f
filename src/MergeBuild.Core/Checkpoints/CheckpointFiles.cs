using MergeBuild.Diagnostics;

namespace MergeBuild.Checkpoints;

/// <summary>
/// The weight files of one Hugging Face model folder and every tensor in them, read from headers only, so a
/// model of any size is validated in well under a second. Either <c>model.safetensors</c>, or
/// <c>model.safetensors.index.json</c> and the shards it lists (checked against each other).
/// </summary>
public sealed class CheckpointFiles
{
    /// <summary>The single-file weight name Hugging Face uses.</summary>
    public const string SingleFileName = "model.safetensors";

    private readonly Dictionary<string, (TensorInfo Tensor, string File)> _byName;

    private CheckpointFiles(string folder, IReadOnlyList<SafetensorsHeader> shards)
    {
        Folder = folder;
        Headers = shards;
        WeightFiles = [.. shards.Select(s => s.Path)];
        Tensors = [.. shards.SelectMany(s => s.Tensors)];
        _byName = new(StringComparer.Ordinal);
        foreach (var shard in shards)
        {
            foreach (var tensor in shard.Tensors)
            {
                _byName.Add(tensor.Name, (tensor, shard.Path));
            }
        }

        TotalBytes = Tensors.Sum(t => t.ByteLength);
    }

    /// <summary>The model folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The weight files' full paths, in shard order.</summary>
    public IReadOnlyList<string> WeightFiles { get; }

    /// <summary>The validated header of each weight file, in the order of <see cref="WeightFiles"/>.</summary>
    public IReadOnlyList<SafetensorsHeader> Headers { get; }

    /// <summary>Every tensor of the model: shard by shard, each shard's by data offset.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The sum of all tensors' byte lengths (what an index's <c>metadata.total_size</c> records).</summary>
    public long TotalBytes { get; }

    /// <summary>The tensor called <paramref name="name"/>, or null.</summary>
    public TensorInfo? Find(string name) => _byName.TryGetValue(name, out var entry) ? entry.Tensor : null;

    /// <summary>The full path of the weight file holding <paramref name="tensorName"/>.</summary>
    public string FileOf(string tensorName) =>
        _byName.TryGetValue(tensorName, out var entry)
            ? entry.File
            : throw MissingTensor(tensorName);

    /// <summary>
    /// Finds and validates the weights of <paramref name="modelFolder"/> (a folder, or a direct path to a
    /// <c>.safetensors</c> file or a <c>.safetensors.index.json</c>). Throws <see cref="MergeBuildException"/>:
    /// MB1001 nothing found, MB1002 pickle weights only, MB1003/MB1004 bad file, MB1005 bad index, MB1008 I/O.
    /// </summary>
    public static CheckpointFiles Discover(string modelFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelFolder);
        var path = Path.GetFullPath(modelFolder);
        if (File.Exists(path))
        {
            return DiscoverFile(path);
        }

        if (!Directory.Exists(path))
        {
            throw new MergeBuildException(ErrorCodes.CheckpointNotFound, "The model folder does not exist.",
                new SourceLocation(path), "Check the model path (a local Hugging Face model folder).");
        }

        // transformers prefers model.safetensors over an index when both exist; do the same.
        var single = Path.Combine(path, SingleFileName);
        if (File.Exists(single))
        {
            return new CheckpointFiles(path, [SafetensorsHeader.Read(single)]);
        }

        var index = Path.Combine(path, ShardIndex.FileName);
        if (File.Exists(index))
        {
            return FromIndex(path, index);
        }

        var pickles = PickleWeights.In(path);
        if (pickles.Count > 0)
        {
            throw PickleWeights.Refused(path, pickles);
        }

        throw new MergeBuildException(ErrorCodes.CheckpointNotFound,
            $"The model folder has no {SingleFileName} and no {ShardIndex.FileName}.", new SourceLocation(path),
            "Point to a Hugging Face model folder saved with safetensors weights.");
    }

    private static CheckpointFiles DiscoverFile(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            return new CheckpointFiles(folder, [SafetensorsHeader.Read(path)]);
        }

        if (path.EndsWith(".safetensors.index.json", StringComparison.OrdinalIgnoreCase))
        {
            return FromIndex(folder, path);
        }

        if (PickleWeights.IsPickle(Path.GetFileName(path)))
        {
            throw PickleWeights.Refused(path, [Path.GetFileName(path)]);
        }

        throw new MergeBuildException(ErrorCodes.CheckpointNotFound,
            "The file is not a safetensors checkpoint (expected a .safetensors file or a model folder).",
            new SourceLocation(path), "Point to a Hugging Face model folder or its .safetensors file.");
    }

    private static CheckpointFiles FromIndex(string folder, string indexPath)
    {
        var index = ShardIndex.Read(indexPath);

        // Hugging Face numbers shards so that name order is shard order.
        var fileNames = index.WeightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        List<SafetensorsHeader> shards = [];
        foreach (var fileName in fileNames)
        {
            var shardPath = Path.Combine(folder, fileName);
            if (!File.Exists(shardPath))
            {
                var example = index.WeightMap.First(e => e.Value == fileName).Key;
                throw CheckpointErrors.Index(indexPath,
                    $"shard '{fileName}' (listed for tensor '{example}' and others) does not exist.");
            }

            shards.Add(SafetensorsHeader.Read(shardPath));
        }

        CheckIndexAgainstShards(indexPath, index, shards);
        return new CheckpointFiles(folder, shards);
    }

    private static void CheckIndexAgainstShards(string indexPath, ShardIndex index, List<SafetensorsHeader> shards)
    {
        Dictionary<string, string> holder = new(StringComparer.Ordinal);
        long total = 0;
        foreach (var shard in shards)
        {
            var shardName = Path.GetFileName(shard.Path);
            foreach (var tensor in shard.Tensors)
            {
                if (!holder.TryAdd(tensor.Name, shardName))
                {
                    throw CheckpointErrors.Index(indexPath,
                        $"tensor '{tensor.Name}' is stored in both '{holder[tensor.Name]}' and '{shardName}'.");
                }

                if (!index.WeightMap.TryGetValue(tensor.Name, out var listed))
                {
                    throw CheckpointErrors.Index(indexPath,
                        $"tensor '{tensor.Name}' is stored in '{shardName}' but the index does not list it.");
                }

                if (listed != shardName)
                {
                    throw CheckpointErrors.Index(indexPath,
                        $"tensor '{tensor.Name}' is listed in '{listed}' but stored in '{shardName}'.");
                }

                total += tensor.ByteLength;
            }
        }

        foreach (var (tensor, file) in index.WeightMap)
        {
            if (!holder.ContainsKey(tensor))
            {
                throw CheckpointErrors.Index(indexPath, $"tensor '{tensor}' is listed in '{file}' but that shard does not contain it.");
            }
        }

        if (index.TotalSize is { } expected && expected != total)
        {
            throw CheckpointErrors.Index(indexPath,
                $"metadata.total_size is {expected} but the shards' tensors hold {total} bytes.");
        }
    }

    private MergeBuildException MissingTensor(string name) =>
        new(ErrorCodes.MissingTensor, $"The model has no tensor '{name}'.", new SourceLocation(Folder),
            "Check the tensor name and that the model has the expected architecture.");

    internal MergeBuildException MissingTensorError(string name) => MissingTensor(name);
}
