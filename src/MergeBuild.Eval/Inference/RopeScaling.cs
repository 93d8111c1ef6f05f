using System.Text.Json;
using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;

namespace MergeBuild.Eval.Inference;

/// <summary>The rotary-embedding frequency rescalings the evaluator implements.</summary>
public enum RopeScalingKind
{
    /// <summary>Every frequency divided by <see cref="RopeScaling.Factor"/> (position interpolation).</summary>
    Linear,

    /// <summary>
    /// Llama 3.1's piecewise rescaling: low frequencies divided by the factor, high ones kept, a blend between.
    /// </summary>
    Llama3,
}

/// <summary>A <c>rope_scaling</c> entry of <c>config.json</c>.</summary>
public sealed record RopeScaling(
    RopeScalingKind Kind,
    double Factor,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>
    /// Parses the entry (null, an object with <c>rope_type</c> or the older <c>type</c>). Rescalings that change
    /// more than the frequencies (dynamic, yarn, longrope) are refused with MB6001 rather than run wrongly.
    /// </summary>
    public static RopeScaling? Parse(JsonNode? node, string configPath)
    {
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject json)
        {
            throw new MergeBuildException(ErrorCodes.MalformedConfig, "rope_scaling must be null or an object.",
                new SourceLocation(configPath), "Fix the model's config.json.");
        }

        var type = LlamaConfig.ReadString(json, "rope_type") ?? LlamaConfig.ReadString(json, "type") ?? "default";
        double Number(string key, double? fallback) => LlamaConfig.ReadDouble(json, key) ?? fallback ??
            throw new MergeBuildException(ErrorCodes.MalformedConfig,
                $"rope_scaling of type '{type}' needs a numeric '{key}'.", new SourceLocation(configPath),
                "Fix the model's config.json.");

        return type switch
        {
            "default" => null,
            "linear" => new RopeScaling(RopeScalingKind.Linear, Number("factor", null)),
            "llama3" => new RopeScaling(RopeScalingKind.Llama3, Number("factor", null),
                Number("low_freq_factor", null), Number("high_freq_factor", null),
                (int)Number("original_max_position_embeddings", null)),
            _ => throw new MergeBuildException(ErrorCodes.UnsupportedModel,
                $"rope_scaling type '{type}' is not supported by the evaluator.", new SourceLocation(configPath),
                "Supported: default, linear, llama3."),
        };
    }
}
