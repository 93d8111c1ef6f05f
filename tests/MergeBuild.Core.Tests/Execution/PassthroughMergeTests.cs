using System.Text.Json.Nodes;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class PassthroughMergeTests
{
    [Fact]
    public void A_single_model_is_reproduced_byte_for_byte()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: passthrough
            models:
              - model: {models}/refunds-sharded
            """);

        // The sharded input becomes one file (under the 5 GB default) with exactly the source's bytes.
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
        var source = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        var merged = RawSafetensors.ReadFolder(output);
        Assert.Equal(source.Keys.Order(), merged.Keys.Order());
        foreach (var (name, tensor) in source)
        {
            Assert.Equal(tensor.Data, merged[name].Data);
        }
    }

    [Fact]
    public void Slices_stack_layers_renumbered_with_embeddings_from_the_first_and_head_from_the_last()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: passthrough
            slices:
              - sources:
                  - model: {models}/shipping
                    layer_range: [0, 4]
              - sources:
                  - model: {models}/refunds
                    layer_range: [2, 4]
            """);

        var shipping = RawSafetensors.ReadFolder(Fixtures.Model("shipping"));
        var refunds = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        var merged = RawSafetensors.ReadFolder(output);

        Assert.Equal(39 + 2 * 9, merged.Count);
        Assert.Equal(shipping["model.embed_tokens.weight"].Data, merged["model.embed_tokens.weight"].Data);
        Assert.Equal(refunds["model.norm.weight"].Data, merged["model.norm.weight"].Data);
        Assert.Equal(refunds["lm_head.weight"].Data, merged["lm_head.weight"].Data);
        string[] weights = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm"];
        foreach (var weight in weights)
        {
            for (var layer = 0; layer < 4; layer++)
            {
                Assert.Equal(shipping[$"model.layers.{layer}.{weight}.weight"].Data,
                    merged[$"model.layers.{layer}.{weight}.weight"].Data);
            }

            // Output layers 4 and 5 are refunds' layers 2 and 3.
            Assert.Equal(refunds[$"model.layers.2.{weight}.weight"].Data, merged[$"model.layers.4.{weight}.weight"].Data);
            Assert.Equal(refunds[$"model.layers.3.{weight}.weight"].Data, merged[$"model.layers.5.{weight}.weight"].Data);
        }

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal(6, config["num_hidden_layers"]!.GetValue<int>());
        // Everything else in the donor's config is kept.
        Assert.Equal(128, config["hidden_size"]!.GetValue<int>());
    }

    [Fact]
    public void Scale_multiplies_in_float32_and_rounds_once()
    {
        using var temp = new TempFolder();
        var output = MergeRunner.Merge(temp, """
            merge_method: passthrough
            models:
              - model: {models}/catalog
                parameters:
                  scale:
                    - filter: down_proj
                      value: 0.3
                    - value: 1.0
            """);

        var catalog = RawSafetensors.ReadFolder(Fixtures.Model("catalog"));
        foreach (var (name, tensor) in RawSafetensors.ReadFolder(output))
        {
            var factor = name.Contains("down_proj", StringComparison.Ordinal) ? 0.3f : 1.0f;
            var expected = catalog[name].AsFloats().Select(x => x * factor);
            Assert.Equal(Bf16.Encode(expected), tensor.Data);
        }
    }
}
