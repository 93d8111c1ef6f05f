using MergeBuild.Models;

namespace MergeBuild.Fuzzing.Targets;

/// <summary>A <c>config.json</c> through <see cref="ModelConfig.Parse"/>, reading every field MergeBuild uses.</summary>
public sealed class ModelConfigTarget : IFuzzTarget
{
    public string Name => "config";

    public IReadOnlyList<string> Dictionary { get; } =
    [
        .. JsonTokens.Common, "\"architectures\"", "\"model_type\"", "\"num_hidden_layers\"", "\"n_layer\"",
        "\"num_layers\"", "\"vocab_size\"", "\"hidden_size\"", "\"tie_word_embeddings\"", "\"torch_dtype\"", "\"dtype\"",
        "\"LlamaForCausalLM\"", "\"auto_map\"", "\"trust_remote_code\"", "true",
    ];

    public IEnumerable<byte[]> Seeds()
    {
        yield return File.ReadAllBytes(RepoFiles.Path("fixtures", "models", "base", "config.json"));
        yield return "{\"architectures\":[\"MistralForCausalLM\",7],\"n_layer\":2,\"vocab_size\":32000,\"tie_word_embeddings\":true,\"dtype\":\"bfloat16\"}"u8.ToArray();
    }

    public string Run(byte[] input)
    {
        var config = ModelConfig.Parse(input, "config.json");
        _ = config.Clone().ToJsonString();
        return $"a{config.Architectures.Count} {config.Architecture is null} {config.ModelType is null} " +
               $"{config.NumHiddenLayers is null} {config.VocabSize is null} {config.HiddenSize is null} " +
               $"{config.TieWordEmbeddings} {config.TorchDType is null} keys{Math.Min(config.Json.Count, 5)}";
    }

    public void Dispose()
    {
    }
}
