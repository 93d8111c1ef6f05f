using System.Text.Json;
using System.Text.Unicode;
using MergeBuild.Diagnostics;
using MergeBuild.Tensors;

namespace MergeBuild.Checkpoints;

/// <summary>
/// Parses and validates the JSON header of a safetensors file. The file is untrusted input: every field is
/// checked before anything else relies on it, and every failure is a <see cref="MergeBuildException"/>
/// (MB1003 for the header as a whole, MB1004 for one tensor's entry).
/// </summary>
internal static class SafetensorsHeaderParser
{
    /// <summary>Largest header accepted; the safetensors reference implementation uses the same bound.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Most dimensions a tensor may have; real models use at most 5.</summary>
    public const int MaxRank = 64;

    /// <summary>Most tensors one file may hold; the largest real checkpoints have a few thousand.</summary>
    public const int MaxTensors = 1_000_000;

    // The valid schema is at most three levels deep (header object, entry object, shape array); a few more
    // levels only let the parser report a schema error instead of a depth error.
    private const int MaxDepth = 8;

    private const string MetadataKey = "__metadata__";

    /// <summary>The parsed header: metadata and tensors ordered by data offset (then name).</summary>
    public sealed record Result(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<TensorInfo> Tensors);

    public static Result Parse(ReadOnlySpan<byte> json, long dataLength, string path)
    {
        if (!Utf8.IsValid(json))
        {
            throw CheckpointErrors.Header(path, "the JSON header is not valid UTF-8.");
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        Dictionary<string, string> metadata = new(StringComparer.Ordinal);
        List<TensorInfo> tensors = [];
        try
        {
            ReadHeaderObject(ref reader, path, metadata, tensors, dataLength);

            // Only the space padding may follow the object; Read throws on any other trailing token.
            if (reader.Read())
            {
                throw CheckpointErrors.Header(path, "unexpected content after the JSON object.");
            }
        }
        catch (JsonException ex)
        {
            throw CheckpointErrors.Header(path, $"the header is not valid JSON ({ex.Message}).", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader reports strings it cannot decode (e.g. escaped lone surrogates) this way.
            throw CheckpointErrors.Header(path, $"the header contains an undecodable string ({ex.Message}).", ex);
        }

        CheckCoverage(tensors, dataLength, path);
        return new Result(metadata, tensors);
    }

    private static void ReadHeaderObject(ref Utf8JsonReader reader, string path, Dictionary<string, string> metadata,
        List<TensorInfo> tensors, long dataLength)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw CheckpointErrors.Header(path, "the header must be a JSON object.");
        }

        HashSet<string> seen = new(StringComparer.Ordinal);
        var sawMetadata = false;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            if (name == MetadataKey)
            {
                if (sawMetadata)
                {
                    throw CheckpointErrors.Header(path, "the key '__metadata__' appears twice.");
                }

                sawMetadata = true;
                ReadMetadata(ref reader, path, metadata);
                continue;
            }

            if (!seen.Add(name))
            {
                throw CheckpointErrors.Header(path, $"tensor '{name}' appears twice in the header.");
            }

            if (tensors.Count >= MaxTensors)
            {
                throw CheckpointErrors.Header(path, $"more than {MaxTensors:N0} tensors in one file.");
            }

            tensors.Add(ReadEntry(ref reader, path, name, dataLength));
        }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string path, Dictionary<string, string> metadata)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            throw CheckpointErrors.Header(path, "'__metadata__' must be an object of strings.");
        }

        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            if (Next(ref reader) != JsonTokenType.String)
            {
                throw CheckpointErrors.Header(path, $"'__metadata__' value '{key}' must be a string.");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw CheckpointErrors.Header(path, $"'__metadata__' key '{key}' appears twice.");
            }
        }
    }

    private static TensorInfo ReadEntry(ref Utf8JsonReader reader, string path, string name, long dataLength)
    {
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            throw CheckpointErrors.Entry(path, name, "expected an object with dtype, shape and data_offsets.");
        }

        DType? dtype = null;
        long[]? shape = null;
        long[]? offsets = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!;
            switch (key)
            {
                case "dtype" when dtype is null:
                    dtype = ReadDType(ref reader, path, name);
                    break;
                case "shape" when shape is null:
                    shape = ReadIntegers(ref reader, path, name, "shape", MaxRank);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadIntegers(ref reader, path, name, "data_offsets", 2);
                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw CheckpointErrors.Entry(path, name, $"the key '{key}' appears twice.");
                default:
                    throw CheckpointErrors.Entry(path, name,
                        $"unknown key '{key}' (only dtype, shape and data_offsets are allowed).");
            }
        }

        if (dtype is null || shape is null || offsets is null)
        {
            var missing = dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw CheckpointErrors.Entry(path, name, $"the required key '{missing}' is missing.");
        }

        if (offsets.Length != 2)
        {
            throw CheckpointErrors.Entry(path, name, "data_offsets must be exactly two integers [begin, end].");
        }

        var (begin, end) = (offsets[0], offsets[1]);
        if (begin > end)
        {
            throw CheckpointErrors.Entry(path, name, $"data_offsets [{begin}, {end}] ends before it begins.");
        }

        var elementSize = DTypes.SizeOf(dtype.Value);
        if (!TensorShapes.TryByteLength(shape, elementSize, out var expected))
        {
            throw CheckpointErrors.Entry(path, name, $"shape {TensorShapes.Format(shape)} is too large.");
        }

        if (expected != end - begin)
        {
            throw CheckpointErrors.Entry(path, name,
                $"shape {TensorShapes.Format(shape)} of {DTypes.ToSafetensorsName(dtype.Value)} needs {expected} bytes " +
                $"but data_offsets [{begin}, {end}] hold {end - begin}.");
        }

        if (end > dataLength)
        {
            throw CheckpointErrors.Entry(path, name,
                $"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes); " +
                "the file is truncated.");
        }

        return new TensorInfo(name, dtype.Value, shape, begin, end - begin);
    }

    private static DType ReadDType(ref Utf8JsonReader reader, string path, string name)
    {
        if (Next(ref reader) != JsonTokenType.String)
        {
            throw CheckpointErrors.Entry(path, name, "dtype must be a string.");
        }

        var text = reader.GetString()!;
        if (!DTypes.TryParseSafetensorsName(text, out var dtype))
        {
            throw CheckpointErrors.Entry(path, name, $"unknown dtype '{text}'.");
        }

        return dtype;
    }

    // Reads an array of non-negative integers holding at most maxCount items.
    private static long[] ReadIntegers(ref Utf8JsonReader reader, string path, string name, string key, int maxCount)
    {
        if (Next(ref reader) != JsonTokenType.StartArray)
        {
            throw CheckpointErrors.Entry(path, name, $"{key} must be an array of non-negative integers.");
        }

        List<long> values = [];
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0)
            {
                throw CheckpointErrors.Entry(path, name, $"{key} must be an array of non-negative integers.");
            }

            if (values.Count >= maxCount)
            {
                throw CheckpointErrors.Entry(path, name, key == "shape"
                    ? $"shape has more than {maxCount} dimensions."
                    : $"{key} must have exactly {maxCount} items.");
            }

            values.Add(value);
        }

        return [.. values];
    }

    // Tensors must tile the data section exactly: no overlaps (a write to one would change another), no gaps
    // and no trailing bytes (which could hide data a different reader would see).
    private static void CheckCoverage(List<TensorInfo> tensors, long dataLength, string path)
    {
        tensors.Sort(static (a, b) =>
        {
            var byOffset = a.DataOffset.CompareTo(b.DataOffset);
            if (byOffset != 0)
            {
                return byOffset;
            }

            var byLength = a.ByteLength.CompareTo(b.ByteLength);
            return byLength != 0 ? byLength : string.CompareOrdinal(a.Name, b.Name);
        });

        long covered = 0;
        TensorInfo? previous = null;
        foreach (var tensor in tensors)
        {
            if (tensor.DataOffset < covered)
            {
                throw CheckpointErrors.Entry(path, tensor.Name,
                    $"its bytes [{tensor.DataOffset}, {tensor.DataOffset + tensor.ByteLength}] overlap " +
                    $"tensor '{previous!.Name}'.");
            }

            if (tensor.DataOffset > covered)
            {
                throw CheckpointErrors.Entry(path, tensor.Name,
                    $"its bytes start at {tensor.DataOffset} but the previous tensor ends at {covered}; " +
                    "the gap is not covered by any tensor.");
            }

            covered = tensor.DataOffset + tensor.ByteLength;
            previous = tensor;
        }

        if (covered != dataLength)
        {
            throw CheckpointErrors.Header(path,
                $"the tensors cover {covered} bytes but the data section has {dataLength}; " +
                "the trailing bytes belong to no tensor.");
        }
    }

    // Reads the next token, turning the end of input into the JSON error it is.
    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of the header.");
        }

        return reader.TokenType;
    }
}
