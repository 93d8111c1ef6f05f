using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;

namespace MergeBuild.Models;

/// <summary>
/// A Hugging Face model folder read from headers only: its config and its weight files' tensor table.
/// Opening one costs a few small reads, whatever the model's size.
/// </summary>
public sealed class ModelFolder
{
    /// <summary>Files that travel with a model besides its weights and config, copied to a merge's output.</summary>
    public static readonly IReadOnlyList<string> TokenizerFiles =
    [
        "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model",
        "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja", "chat_template.json",
    ];

    /// <summary>Generation defaults; mergekit drops this file, MergeBuild keeps it.</summary>
    public const string GenerationConfigFile = "generation_config.json";

    private ModelFolder(string path, ModelConfig config, CheckpointFiles weights)
    {
        Path = path;
        Config = config;
        Weights = weights;
    }

    public string Path { get; }

    public ModelConfig Config { get; }

    public CheckpointFiles Weights { get; }

    /// <summary>
    /// Opens a model folder. <paramref name="referencedFrom"/> is where the recipe names it and
    /// <paramref name="referenceText"/> how it is written there; both only serve error messages.
    /// </summary>
    public static ModelFolder Open(string path, SourceLocation? referencedFrom = null, string? referenceText = null)
    {
        if (!Directory.Exists(path))
        {
            var written = referenceText ?? path;
            var hint = LooksLikeHubId(written)
                ? "MergeBuild reads local model folders; download it first, e.g. `huggingface-cli download " +
                  $"{written} --local-dir models/{System.IO.Path.GetFileName(written)}`, and point the recipe at that folder."
                : "Check the path: relative paths are resolved from the recipe's folder.";
            throw new MergeBuildException(ErrorCodes.ModelNotFound, $"model folder '{written}' does not exist ({path}).",
                referencedFrom ?? new SourceLocation(path), hint);
        }

        var config = ModelConfig.Load(path);
        var weights = CheckpointFiles.Discover(path);
        return new ModelFolder(path, config, weights);
    }

    private static bool LooksLikeHubId(string path) =>
        !System.IO.Path.IsPathRooted(path) && path.Count(c => c == '/') == 1 && !path.StartsWith('.');
}
