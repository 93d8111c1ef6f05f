using System.Text.Json;

namespace MergeBuild.Checkpoints;

/// <summary>
/// A parsed <c>model.safetensors.index.json</c>: which shard file holds each tensor, and the optional
/// <c>metadata.total_size</c>. Only the structure is checked here; <see cref="CheckpointFiles"/> checks the
/// index against the shards themselves.
/// </summary>
internal sealed class ShardIndex
{
    /// <summary>The index file name Hugging Face uses.</summary>
    public const string FileName = "model.safetensors.index.json";

    private const long MaxIndexBytes = 100_000_000;

    private ShardIndex(IReadOnlyDictionary<string, string> weightMap, long? totalSize)
    {
        WeightMap = weightMap;
        TotalSize = totalSize;
    }

    /// <summary>Tensor name to shard file name (a plain name inside the model folder).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary><c>metadata.total_size</c>, or null when absent.</summary>
    public long? TotalSize { get; }

    public static ShardIndex Read(string path)
    {
        byte[] bytes;
        try
        {
            if (new FileInfo(path).Length > MaxIndexBytes)
            {
                throw CheckpointErrors.Index(path, $"the index is larger than {MaxIndexBytes} bytes.");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (CheckpointErrors.IsIoFailure(ex))
        {
            throw CheckpointErrors.Io(path, ex);
        }

        try
        {
            return Parse(bytes, path);
        }
        catch (JsonException ex)
        {
            throw CheckpointErrors.Index(path, $"the index is not valid JSON ({ex.Message}).", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw CheckpointErrors.Index(path, $"the index contains an undecodable string ({ex.Message}).", ex);
        }
    }

    private static ShardIndex Parse(ReadOnlySpan<byte> json, string path)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw CheckpointErrors.Index(path, "the index must be a JSON object.");
        }

        Dictionary<string, string>? weightMap = null;
        long? totalSize = null;
        HashSet<string> seen = new(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            if (!seen.Add(key))
            {
                throw CheckpointErrors.Index(path, $"the key '{key}' appears twice.");
            }

            switch (key)
            {
                case "weight_map":
                    weightMap = ReadWeightMap(ref reader, path);
                    break;
                case "metadata":
                    totalSize = ReadTotalSize(ref reader, path);
                    break;
                default:
                    // Other top-level keys carry nothing MergeBuild needs; skip them whole.
                    Next(ref reader);
                    reader.Skip();
                    break;
            }
        }

        if (reader.Read())
        {
            throw CheckpointErrors.Index(path, "unexpected content after the JSON object.");
        }

        if (weightMap is null)
        {
            throw CheckpointErrors.Index(path, "the index has no 'weight_map' object.");
        }

        return new ShardIndex(weightMap, totalSize);
    }

    private static Dictionary<string, string> ReadWeightMap(ref Utf8JsonReader reader, string path)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            throw CheckpointErrors.Index(path, "'weight_map' must be an object mapping tensor names to shard files.");
        }

        Dictionary<string, string> map = new(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var tensor = reader.GetString()!;
            if (Next(ref reader) != JsonTokenType.String)
            {
                throw CheckpointErrors.Index(path, $"'weight_map' entry for tensor '{tensor}' must be a file name string.");
            }

            var file = reader.GetString()!;
            if (!IsPlainFileName(file))
            {
                throw CheckpointErrors.Index(path,
                    $"tensor '{tensor}' is mapped to '{file}', which is not a plain file name inside the model folder.");
            }

            if (!map.TryAdd(tensor, file))
            {
                throw CheckpointErrors.Index(path, $"tensor '{tensor}' appears twice in 'weight_map'.");
            }
        }

        return map;
    }

    private static long? ReadTotalSize(ref Utf8JsonReader reader, string path)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            throw CheckpointErrors.Index(path, "'metadata' must be an object.");
        }

        long? totalSize = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            var token = Next(ref reader);
            if (key != "total_size")
            {
                reader.Skip();
                continue;
            }

            // transformers writes an integer; some tools write it as a float with no fraction (e.g. 1617664.0).
            if (token != JsonTokenType.Number || totalSize is not null || !TryGetWholeNumber(ref reader, out var size))
            {
                throw CheckpointErrors.Index(path, "'metadata.total_size' must be one non-negative integer.");
            }

            totalSize = size;
        }

        return totalSize;
    }

    private static bool TryGetWholeNumber(ref Utf8JsonReader reader, out long value)
    {
        if (reader.TryGetInt64(out value))
        {
            return value >= 0;
        }

        if (reader.TryGetDouble(out var real) && real >= 0 && real < 9.2e18 && Math.Floor(real) == real)
        {
            value = (long)real;
            return true;
        }

        return false;
    }

    /// <summary>True for a name that stays inside its folder: no separators, not <c>.</c> or <c>..</c>.</summary>
    public static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." &&
        name.IndexOfAny(['/', '\\', '\0', ':']) < 0 && !Path.IsPathRooted(name);

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of the index.");
        }

        return reader.TokenType;
    }
}
