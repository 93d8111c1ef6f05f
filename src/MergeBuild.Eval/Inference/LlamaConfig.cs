using System.Text.Json;
using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;
using MergeBuild.Models;

namespace MergeBuild.Eval.Inference;

/// <summary>
/// The hyperparameters of a Llama-family decoder (Llama, Mistral, Qwen2) read from <c>config.json</c>, with the
/// defaults Hugging Face's config classes apply when a field is absent.
/// </summary>
public sealed record LlamaConfig
{
    private static readonly string[] SupportedTypes = ["llama", "mistral", "qwen2"];

    /// <summary><c>model_type</c>: llama, mistral or qwen2.</summary>
    public required string ModelType { get; init; }

    public required int HiddenSize { get; init; }

    public required int IntermediateSize { get; init; }

    public required int NumLayers { get; init; }

    public required int NumHeads { get; init; }

    /// <summary>Key/value heads; fewer than <see cref="NumHeads"/> means grouped-query attention.</summary>
    public required int NumKeyValueHeads { get; init; }

    public required int HeadDim { get; init; }

    public required float RmsNormEps { get; init; }

    public required double RopeTheta { get; init; }

    /// <summary>The <c>rope_scaling</c> entry, or null for plain rotary embeddings.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Mistral's sliding attention window (positions a query sees, itself included), or null.</summary>
    public int? SlidingWindow { get; init; }

    public bool TieWordEmbeddings { get; init; }

    /// <summary>
    /// Reads the architecture from a parsed <c>config.json</c>; MB6001 for anything this engine cannot run.
    /// </summary>
    public static LlamaConfig FromModelConfig(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var json = config.Json;
        var modelType = config.ModelType ?? "";
        if (!SupportedTypes.Contains(modelType))
        {
            throw Unsupported(config, $"model_type '{modelType}' is not a Llama-family decoder the evaluator can run.",
                "Supported: " + string.Join(", ", SupportedTypes) + ".");
        }

        var act = ReadString(json, "hidden_act") ?? "silu";
        if (act != "silu")
        {
            throw Unsupported(config, $"hidden_act '{act}' is not supported; the evaluator implements SiLU-gated MLPs.",
                null);
        }

        if (modelType == "qwen2" && ReadBool(json, "use_sliding_window"))
        {
            throw Unsupported(config, "Qwen2 with use_sliding_window: true is not supported.",
                "Evaluate with use_sliding_window: false (the default), which matches prompts shorter than the window.");
        }

        var hidden = Require(config, "hidden_size");
        var heads = Require(config, "num_attention_heads");
        var kvHeads = ReadInt(json, "num_key_value_heads") ?? heads;
        if (kvHeads <= 0 || heads % kvHeads != 0)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig,
                $"num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kvHeads}).",
                new SourceLocation(config.Path), "Fix the model's config.json.");
        }

        return new LlamaConfig
        {
            ModelType = modelType,
            HiddenSize = hidden,
            IntermediateSize = Require(config, "intermediate_size"),
            NumLayers = Require(config, "num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = ReadInt(json, "head_dim") ?? hidden / heads,
            RmsNormEps = (float)(ReadDouble(json, "rms_norm_eps") ?? 1e-6),
            RopeTheta = ReadDouble(json, "rope_theta") ?? 10000.0,
            RopeScaling = RopeScaling.Parse(json["rope_scaling"], config.Path),
            SlidingWindow = modelType == "mistral" ? ReadInt(json, "sliding_window") : null,
            TieWordEmbeddings = config.TieWordEmbeddings,
        };
    }

    private static int Require(ModelConfig config, string key) =>
        ReadInt(config.Json, key) is { } value && value > 0
            ? value
            : throw new MergeBuildException(ErrorCodes.MalformedConfig,
                $"config.json has no positive integer '{key}', which the evaluator needs.",
                new SourceLocation(config.Path), "Fix or re-download the model's config.json.");

    private static MergeBuildException Unsupported(ModelConfig config, string message, string? hint) =>
        new(ErrorCodes.UnsupportedModel, message, new SourceLocation(config.Path), hint);

    internal static string? ReadString(JsonObject json, string key) =>
        json[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    internal static int? ReadInt(JsonObject json, string key) =>
        json[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int n) ? n : null;

    internal static double? ReadDouble(JsonObject json, string key) =>
        json[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;

    private static bool ReadBool(JsonObject json, string key) =>
        json[key] is JsonValue v && v.GetValueKind() == JsonValueKind.True;
}
