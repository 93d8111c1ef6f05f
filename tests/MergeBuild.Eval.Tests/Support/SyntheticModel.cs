using System.Text.Json.Nodes;
using MergeBuild.Checkpoints;
using MergeBuild.Tensors;

namespace MergeBuild.Eval.Tests.Support;

/// <summary>
/// Writes a small random Llama-family checkpoint (config.json + model.safetensors) for architecture features the
/// fixtures lack: q/k/v biases (Qwen2), tied embeddings, a sliding window (Mistral), rope scaling, F16/F32 storage.
/// <see cref="Tensors"/> holds the values as stored (already rounded to the dtype), for <see cref="NaiveLlama"/>.
/// </summary>
public sealed class SyntheticModel
{
    public required string ModelType { get; init; }

    public int Vocab { get; init; } = 40;

    public int Hidden { get; init; } = 32;

    public int Intermediate { get; init; } = 48;

    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 4;

    public int KvHeads { get; init; } = 2;

    public int HeadDim { get; init; } = 8;

    public bool QkvBias { get; init; }

    public bool Tied { get; init; }

    public int? SlidingWindow { get; init; }

    public JsonObject? RopeScaling { get; init; }

    public double RopeTheta { get; init; } = 10000;

    public DType DType { get; init; } = DType.F32;

    public Dictionary<string, float[]> Tensors { get; } = new(StringComparer.Ordinal);

    public void Write(string folder, int seed = 7)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        var shapes = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", [Vocab, Hidden]) };
        for (var l = 0; l < Layers; l++)
        {
            var p = $"model.layers.{l}.";
            shapes.Add((p + "input_layernorm.weight", [Hidden]));
            shapes.Add((p + "self_attn.q_proj.weight", [Heads * HeadDim, Hidden]));
            shapes.Add((p + "self_attn.k_proj.weight", [KvHeads * HeadDim, Hidden]));
            shapes.Add((p + "self_attn.v_proj.weight", [KvHeads * HeadDim, Hidden]));
            if (QkvBias)
            {
                shapes.Add((p + "self_attn.q_proj.bias", [Heads * HeadDim]));
                shapes.Add((p + "self_attn.k_proj.bias", [KvHeads * HeadDim]));
                shapes.Add((p + "self_attn.v_proj.bias", [KvHeads * HeadDim]));
            }

            shapes.Add((p + "self_attn.o_proj.weight", [Hidden, Heads * HeadDim]));
            shapes.Add((p + "post_attention_layernorm.weight", [Hidden]));
            shapes.Add((p + "mlp.gate_proj.weight", [Intermediate, Hidden]));
            shapes.Add((p + "mlp.up_proj.weight", [Intermediate, Hidden]));
            shapes.Add((p + "mlp.down_proj.weight", [Hidden, Intermediate]));
        }

        shapes.Add(("model.norm.weight", [Hidden]));
        if (!Tied)
        {
            shapes.Add(("lm_head.weight", [Vocab, Hidden]));
        }

        foreach (var (name, shape) in shapes)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            var isNorm = name.EndsWith("norm.weight", StringComparison.Ordinal);
            for (var i = 0; i < values.Length; i++)
            {
                var noise = (float)(random.NextDouble() * 2 - 1);
                values[i] = Round(isNorm ? 1 + 0.2f * noise : 0.3f * noise);
            }

            Tensors[name] = values;
        }

        var layout = CheckpointLayout.Plan(shapes.Select(s => new PlannedTensor(s.Name, DType, s.Shape)).ToList(),
            ShardSize.Default);
        using (var writer = CheckpointWriter.Create(folder, layout))
        {
            foreach (var (name, _) in shapes)
            {
                var bytes = new byte[Tensors[name].Length * DTypes.SizeOf(DType)];
                FloatCodec.FromSingle(DType, Tensors[name], bytes);
                writer.Write(name, 0, bytes);
            }

            writer.Complete();
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), Config().ToJsonString());
    }

    private float Round(float value) => DType switch
    {
        DType.F16 => (float)(Half)value,
        DType.BF16 => BFloat16.Round(value),
        _ => value,
    };

    private JsonObject Config()
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType switch
            {
                "qwen2" => "Qwen2ForCausalLM",
                "mistral" => "MistralForCausalLM",
                _ => "LlamaForCausalLM",
            }),
            ["model_type"] = ModelType,
            ["hidden_size"] = Hidden,
            ["intermediate_size"] = Intermediate,
            ["num_hidden_layers"] = Layers,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["rms_norm_eps"] = 1e-6,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = Tied,
            ["vocab_size"] = Vocab,
            ["rope_scaling"] = RopeScaling?.DeepClone(),
        };
        if (SlidingWindow is { } window)
        {
            config["sliding_window"] = window;
        }

        return config;
    }
}
