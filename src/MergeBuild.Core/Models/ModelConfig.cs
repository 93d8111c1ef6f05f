using System.Text.Json;
using System.Text.Unicode;
using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;

namespace MergeBuild.Models;

/// <summary>
/// A Hugging Face <c>config.json</c>: the few fields MergeBuild reads, plus the whole object so the merged
/// model's config can be written back with every other field untouched and in its original order.
/// </summary>
public sealed class ModelConfig
{
    public const string FileName = "config.json";

    private ModelConfig(string path, JsonObject json)
    {
        Path = path;
        Json = json;
        Architectures = json["architectures"] is JsonArray list
            ? list.Select(node => node?.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : "").ToArray()
            : [];
        ModelType = ReadString(json, "model_type");
        NumHiddenLayers = ReadInt(json, "num_hidden_layers") ?? ReadInt(json, "n_layer") ?? ReadInt(json, "num_layers");
        VocabSize = ReadInt(json, "vocab_size");
        HiddenSize = ReadInt(json, "hidden_size");
        TieWordEmbeddings = json["tie_word_embeddings"] is JsonValue tie && tie.GetValueKind() is JsonValueKind.True;
        TorchDType = ReadString(json, "torch_dtype") ?? ReadString(json, "dtype");
    }

    /// <summary>The config file's path.</summary>
    public string Path { get; }

    /// <summary>The parsed file; mutate a <see cref="Clone"/>, not this.</summary>
    public JsonObject Json { get; }

    public IReadOnlyList<string> Architectures { get; }

    /// <summary>The single architecture name mergekit keys on (<c>architectures[0]</c>), or null.</summary>
    public string? Architecture => Architectures.Count > 0 ? Architectures[0] : null;

    public string? ModelType { get; }

    public int? NumHiddenLayers { get; }

    public int? VocabSize { get; }

    public int? HiddenSize { get; }

    public bool TieWordEmbeddings { get; }

    public string? TorchDType { get; }

    /// <summary>Reads <c>config.json</c> from a model folder.</summary>
    public static ModelConfig Load(string modelFolder)
    {
        var path = System.IO.Path.Combine(modelFolder, FileName);
        if (!File.Exists(path))
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig,
                $"the model folder has no {FileName}.", new SourceLocation(modelFolder),
                "A Hugging Face model folder needs config.json next to its weights; copy it from the model's source.");
        }

        // Real configs are a few kilobytes; the bound keeps a hostile "config" from being read into memory whole.
        if (new FileInfo(path).Length > MaxBytes)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig, $"{FileName} is larger than {MaxBytes:N0} bytes.",
                new SourceLocation(path), "Check that this is the model's config.json.");
        }

        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Largest config.json read.</summary>
    public const long MaxBytes = 16L * 1024 * 1024;

    /// <summary>Parses config bytes; <paramref name="path"/> is used in error messages.</summary>
    public static ModelConfig Parse(ReadOnlySpan<byte> utf8, string path)
    {
        // JsonNode decodes strings lazily, so invalid UTF-8 would surface later as an InvalidOperationException;
        // and a duplicate key as an ArgumentException on first access. Both are rejected here (found by fuzzing).
        if (!Utf8.IsValid(utf8))
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig, $"{FileName} is not valid UTF-8.",
                new SourceLocation(path), "Fix or re-download the file.");
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8, documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig,
                $"{FileName} is not valid JSON: {e.Message}",
                new SourceLocation(path, (int)(e.LineNumber ?? -1) + 1, (int)(e.BytePositionInLine ?? -1) + 1),
                "Fix or re-download the file.");
        }

        if (node is not JsonObject json)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig, $"{FileName} must hold a JSON object.",
                new SourceLocation(path), "Fix or re-download the file.");
        }

        return new ModelConfig(path, json);
    }

    /// <summary>A deep copy of the JSON object, for writing an output config.</summary>
    public JsonObject Clone() => (JsonObject)Json.DeepClone();

    private static string? ReadString(JsonObject json, string key) =>
        json[key] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static int? ReadInt(JsonObject json, string key) =>
        json[key] is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue(out int n)
            ? n
            : null;
}
