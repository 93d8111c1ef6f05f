using System.Text;
using MergeBuild.Checkpoints;

namespace MergeBuild.Fuzzing.Targets;

/// <summary>
/// A <c>model.safetensors.index.json</c> through <see cref="CheckpointFiles.Discover"/> in a folder holding two
/// valid shards, so a mutated index is parsed and then checked against real shard headers.
/// </summary>
public sealed class ShardIndexTarget : IFuzzTarget
{
    private const string First = "model-00001-of-00002.safetensors";
    private const string Second = "model-00002-of-00002.safetensors";
    private readonly WorkFolder _folder = new("index");

    public ShardIndexTarget()
    {
        File.WriteAllBytes(_folder.File(First), SafetensorsBytes.Build(
        [
            new("model.embed_tokens.weight", "F32", [4, 3], 4),
            new("model.layers.0.mlp.up_proj.weight", "F32", [2, 2], 4),
        ]));
        File.WriteAllBytes(_folder.File(Second), SafetensorsBytes.Build([new("lm_head.weight", "F32", [4, 3], 4)]));
    }

    public string Name => "index";

    public IReadOnlyList<string> Dictionary { get; } =
    [
        .. JsonTokens.Common, "\"weight_map\"", "\"metadata\"", "\"total_size\"", $"\"{First}\"", $"\"{Second}\"",
        "\"model.safetensors\"", "\"lm_head.weight\"", "\"model.embed_tokens.weight\"", "\"../model.safetensors\"",
        "\"sub/model.safetensors\"", "\".\"", "\"..\"", "\"\"", "\"model-00003-of-00002.safetensors\"", "\"pytorch_model.bin\"",
    ];

    public IEnumerable<byte[]> Seeds()
    {
        yield return Encoding.UTF8.GetBytes(
            "{\n  \"metadata\": {\n    \"total_size\": 112\n  },\n  \"weight_map\": {\n" +
            $"    \"lm_head.weight\": \"{Second}\",\n    \"model.embed_tokens.weight\": \"{First}\",\n" +
            $"    \"model.layers.0.mlp.up_proj.weight\": \"{First}\"\n  }}\n}}\n");
        yield return Encoding.UTF8.GetBytes(
            $"{{\"weight_map\":{{\"lm_head.weight\":\"{Second}\",\"model.embed_tokens.weight\":\"{First}\"," +
            $"\"model.layers.0.mlp.up_proj.weight\":\"{First}\"}}}}");
    }

    public string Run(byte[] input)
    {
        File.WriteAllBytes(_folder.File(ShardIndexFileName), input);
        var files = CheckpointFiles.Discover(_folder.Path);
        foreach (var tensor in files.Tensors)
        {
            _ = files.FileOf(tensor.Name);
        }

        return $"files {files.WeightFiles.Count} tensors {files.Tensors.Count}";
    }

    private const string ShardIndexFileName = "model.safetensors.index.json";

    public void Dispose() => _folder.Dispose();
}
