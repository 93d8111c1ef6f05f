using MergeBuild.Checkpoints;
using MergeBuild.Diagnostics;
using MergeBuild.Models;

namespace MergeBuild.Eval.Inference;

public sealed partial class LlamaModel
{
    private const string EmbeddingName = "model.embed_tokens.weight";
    private const string HeadName = "lm_head.weight";

    /// <summary>
    /// Loads <c>config.json</c> and the safetensors weights (single file or sharded) of a model folder, converting
    /// every tensor to float32 once. MB6001 for an architecture the engine cannot run, MB1006 for a missing tensor,
    /// MB3003 for a tensor whose shape disagrees with the config.
    /// </summary>
    public static LlamaModel Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var config = LlamaConfig.FromModelConfig(ModelConfig.Load(folder));
        using var reader = CheckpointReader.Open(folder);
        var loader = new WeightLoader(reader);

        long hidden = config.HiddenSize;
        var embeddingShape = reader.Get(EmbeddingName).Shape;
        if (embeddingShape.Length != 2 || embeddingShape[1] != hidden)
        {
            throw new MergeBuildException(ErrorCodes.ShapeMismatch,
                $"{EmbeddingName} has shape [{string.Join(", ", embeddingShape)}]; expected [vocab, {hidden}].",
                new SourceLocation(reader.Files.FileOf(EmbeddingName)), "Check that config.json matches the weights.");
        }

        var vocab = (int)embeddingShape[0];
        var embeddings = loader.Read(EmbeddingName, vocab, hidden);
        var layers = new LlamaLayer[config.NumLayers];
        for (var l = 0; l < layers.Length; l++)
        {
            layers[l] = LoadLayer(loader, config, $"model.layers.{l}.");
        }

        var finalNorm = loader.Read("model.norm.weight", hidden);
        // transformers ties the head to the embeddings when the config says so, whatever the file holds; a
        // checkpoint without lm_head.weight can only be tied.
        var headWeights = !config.TieWordEmbeddings && loader.Has(HeadName)
            ? loader.Read(HeadName, vocab, hidden)
            : embeddings;
        var head = PackedMatrix.Pack(config.HiddenSize, [(headWeights, loader.ReadOptional("lm_head.bias", vocab))]);
        return new LlamaModel(Path.GetFullPath(folder), config, vocab, embeddings, layers, finalNorm, head);
    }

    private static LlamaLayer LoadLayer(WeightLoader loader, LlamaConfig config, string prefix)
    {
        long hidden = config.HiddenSize;
        long queries = (long)config.NumHeads * config.HeadDim;
        long keyValues = (long)config.NumKeyValueHeads * config.HeadDim;
        long intermediate = config.IntermediateSize;

        (float[], float[]?) Linear(string name, long outFeatures, long inFeatures) =>
            (loader.Read(prefix + name + ".weight", outFeatures, inFeatures),
                loader.ReadOptional(prefix + name + ".bias", outFeatures));

        var qkv = PackedMatrix.Pack(config.HiddenSize,
        [
            Linear("self_attn.q_proj", queries, hidden),
            Linear("self_attn.k_proj", keyValues, hidden),
            Linear("self_attn.v_proj", keyValues, hidden),
        ]);
        var output = PackedMatrix.Pack((int)queries, [Linear("self_attn.o_proj", hidden, queries)]);
        var gateUp = PackedMatrix.Pack(config.HiddenSize,
            [Linear("mlp.gate_proj", intermediate, hidden), Linear("mlp.up_proj", intermediate, hidden)]);
        var down = PackedMatrix.Pack(config.IntermediateSize, [Linear("mlp.down_proj", hidden, intermediate)]);
        return new LlamaLayer(
            loader.Read(prefix + "input_layernorm.weight", hidden),
            qkv,
            output,
            loader.Read(prefix + "post_attention_layernorm.weight", hidden),
            gateUp,
            down);
    }
}
