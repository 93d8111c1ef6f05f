using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using MergeBuild.Checkpoints;
using MergeBuild.Tensors;

namespace MergeBuild.Benchmarks;

/// <summary>
/// Writes Llama-shaped bf16 checkpoints of a requested size for benchmarks: a base with random weights and
/// fine-tunes that add small random task vectors, as real specialists do. Values come from a counter-based
/// generator, so the files are the same on every run.
/// </summary>
public static class SyntheticModels
{
    /// <summary>The shape of one synthetic model.</summary>
    public sealed record Shape(int Hidden, int Intermediate, int Vocab, int Layers)
    {
        public long Parameters => (long)Vocab * Hidden * 2 + Layers * ((long)Hidden * Hidden * 4 + (long)Hidden * Intermediate * 3 + Hidden * 2) + Hidden;

        /// <summary>A Llama-like shape (hidden 2048, MLP 5632, vocab 32000) with as many layers as fit <paramref name="bytes"/>.</summary>
        public static Shape ForBytes(long bytes)
        {
            const int hidden = 2048, intermediate = 5632, vocab = 32000;
            var fixedBytes = (long)vocab * hidden * 2 * 2;
            var layerBytes = ((long)hidden * hidden * 4 + (long)hidden * intermediate * 3 + hidden * 2) * 2;
            var layers = (int)Math.Max(1, (bytes - fixedBytes) / layerBytes);
            return new Shape(hidden, intermediate, vocab, layers);
        }
    }

    /// <summary>Writes <paramref name="count"/> fine-tunes and a base under <paramref name="folder"/>; returns their folders (base first).</summary>
    public static IReadOnlyList<string> Write(string folder, Shape shape, int count, bool reuse = false)
    {
        var tensors = Tensors(shape);
        var folders = new List<string>();
        for (var model = 0; model <= count; model++)
        {
            var path = Path.Combine(folder, model == 0 ? "base" : $"model{model}");
            Directory.CreateDirectory(path);
            var expected = tensors.Sum(t => t.ByteLength);
            var existing = Path.Combine(path, CheckpointFiles.SingleFileName);
            if (!(reuse && File.Exists(existing) && CheckpointFiles.Discover(path).TotalBytes == expected))
            {
                WriteWeights(path, tensors, model);
            }

            WriteConfig(path, shape);
            folders.Add(path);
        }

        return folders;
    }

    private static List<PlannedTensor> Tensors(Shape s)
    {
        var list = new List<PlannedTensor> { new("model.embed_tokens.weight", DType.BF16, [s.Vocab, s.Hidden]) };
        for (var layer = 0; layer < s.Layers; layer++)
        {
            var p = $"model.layers.{layer}.";
            list.Add(new(p + "self_attn.q_proj.weight", DType.BF16, [s.Hidden, s.Hidden]));
            list.Add(new(p + "self_attn.k_proj.weight", DType.BF16, [s.Hidden, s.Hidden]));
            list.Add(new(p + "self_attn.v_proj.weight", DType.BF16, [s.Hidden, s.Hidden]));
            list.Add(new(p + "self_attn.o_proj.weight", DType.BF16, [s.Hidden, s.Hidden]));
            list.Add(new(p + "mlp.gate_proj.weight", DType.BF16, [s.Intermediate, s.Hidden]));
            list.Add(new(p + "mlp.up_proj.weight", DType.BF16, [s.Intermediate, s.Hidden]));
            list.Add(new(p + "mlp.down_proj.weight", DType.BF16, [s.Hidden, s.Intermediate]));
            list.Add(new(p + "input_layernorm.weight", DType.BF16, [s.Hidden]));
            list.Add(new(p + "post_attention_layernorm.weight", DType.BF16, [s.Hidden]));
        }

        list.Add(new("model.norm.weight", DType.BF16, [s.Hidden]));
        list.Add(new("lm_head.weight", DType.BF16, [s.Vocab, s.Hidden]));
        return list;
    }

    private static void WriteWeights(string folder, List<PlannedTensor> tensors, int model)
    {
        var layout = CheckpointLayout.Plan(tensors, ShardSize.Default, new Dictionary<string, string> { ["format"] = "pt" });
        // Buffered: the bench reads these models right after writing them.
        using var writer = CheckpointWriter.Create(folder, layout, aroundPageCache: false);
        const int chunk = 1 << 20;
        var values = new float[chunk];
        var bits = new ushort[chunk];
        foreach (var tensor in tensors)
        {
            var count = tensor.Shape.Aggregate(1L, (a, b) => a * b);
            var baseRandom = new Methods.CounterRandom(7, -1, tensor.Name);
            var deltaRandom = new Methods.CounterRandom(7, model, tensor.Name);
            for (long start = 0; start < count; start += chunk)
            {
                var n = (int)Math.Min(chunk, count - start);
                for (var i = 0; i < n; i++)
                {
                    // Base weights ~ U(-0.05, 0.05); a fine-tune moves each by ~U(-0.002, 0.002).
                    var w = (float)(baseRandom.Uniform(start + i) - 0.5) * 0.1f;
                    if (model > 0)
                    {
                        w += (float)(deltaRandom.Uniform(start + i) - 0.5) * 0.004f;
                    }

                    values[i] = w;
                }

                BFloat16.FromSingle(values.AsSpan(0, n), bits.AsSpan(0, n));
                writer.Write(tensor.Name, start * 2, MemoryMarshal.AsBytes(bits.AsSpan(0, n)));
            }
        }

        writer.Complete();
    }

    private static void WriteConfig(string folder, Shape s)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray("LlamaForCausalLM"),
            ["model_type"] = "llama",
            ["hidden_size"] = s.Hidden,
            ["intermediate_size"] = s.Intermediate,
            ["num_hidden_layers"] = s.Layers,
            ["vocab_size"] = s.Vocab,
            ["tie_word_embeddings"] = false,
            ["torch_dtype"] = "bfloat16",
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
    }
}
