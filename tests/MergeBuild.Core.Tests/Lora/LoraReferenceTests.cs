using MergeBuild.Checkpoints;
using MergeBuild.Core.Tests.Execution;
using MergeBuild.Diagnostics;
using MergeBuild.Execution;
using MergeBuild.Planning;
using MergeBuild.Recipes;
using MergeBuild.Tensors;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Lora;

public class LoraReferenceTests
{
    private const string QProj = "model.layers.1.self_attn.q_proj";
    private const string DownProj = "model.layers.2.mlp.down_proj";

    /// <summary>Writes a PEFT-style adapter for the fixture model: rank 2, alpha 4, down_proj at rank-pattern alpha 1.</summary>
    private static Dictionary<string, float[]> WriteAdapter(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), """
            {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "alpha_pattern": {"down_proj": 1},
             "target_modules": ["q_proj", "down_proj"], "fan_in_fan_out": false}
            """);
        var random = new Random(7);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray();
        var tensors = new Dictionary<string, (long[] Shape, float[] Values)>
        {
            [$"base_model.model.{QProj}.lora_A.weight"] = ([2, 128], Values(256)),
            [$"base_model.model.{QProj}.lora_B.weight"] = ([128, 2], Values(256)),
            [$"base_model.model.{DownProj}.lora_A.weight"] = ([2, 384], Values(768)),
            [$"base_model.model.{DownProj}.lora_B.weight"] = ([128, 2], Values(256)),
        };
        var layout = CheckpointLayout.Plan(
            tensors.Select(t => new PlannedTensor(t.Key, DType.F32, t.Value.Shape)).ToList(), ShardSize.Default);
        using (var writer = CheckpointWriter.Create(folder, layout))
        {
            foreach (var (name, (_, values)) in tensors)
            {
                writer.Write(name, 0, values.SelectMany(BitConverter.GetBytes).ToArray());
            }

            writer.Complete();
        }

        File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, "adapter_model.safetensors"));
        return tensors.ToDictionary(t => t.Key, t => t.Value.Values);
    }

    [Fact]
    public void Model_plus_lora_adds_scaled_B_times_A_to_the_adapted_weights()
    {
        using var temp = new TempFolder();
        var adapter = WriteAdapter(temp.Combine("adapter"));
        var recipe = RecipeFiles.Write(temp, "merge_method: passthrough\nmodels:\n  - model: {models}/refunds+adapter\n");
        var plan = MergePlanner.Plan(RecipeParser.ParseFile(recipe),
            new PlanOptions { LoraCacheDirectory = temp.Combine("cache") });
        var output = MergeExecutor.Execute(plan, temp.Combine("out")).OutputFolder;

        var source = RawSafetensors.ReadFolder(Fixtures.Model("refunds"));
        var merged = RawSafetensors.ReadFolder(output);
        foreach (var (module, inputs, scaling) in new[] { (QProj, 128, 4.0 / 2), (DownProj, 384, 1.0 / 2) })
        {
            var w = source[module + ".weight"].AsFloats();
            var a = adapter[$"base_model.model.{module}.lora_A.weight"];
            var b = adapter[$"base_model.model.{module}.lora_B.weight"];
            var expected = new float[w.Length];
            for (var o = 0; o < 128; o++)
            {
                for (var i = 0; i < inputs; i++)
                {
                    var sum = 0f;
                    for (var k = 0; k < 2; k++)
                    {
                        sum += b[o * 2 + k] * a[k * inputs + i];
                    }

                    expected[o * inputs + i] = w[o * inputs + i] + sum * (float)scaling;
                }
            }

            Assert.Equal(Bf16.Encode(expected), merged[module + ".weight"].Data);
        }

        // Every other weight is untouched.
        Assert.Equal(source["model.layers.1.self_attn.k_proj.weight"].Data, merged["model.layers.1.self_attn.k_proj.weight"].Data);
        // The merged model is cached by content: planning again reuses the folder.
        Assert.Single(Directory.GetDirectories(temp.Combine("cache")));
        MergePlanner.Plan(RecipeParser.ParseFile(recipe), new PlanOptions { LoraCacheDirectory = temp.Combine("cache") });
        Assert.Single(Directory.GetDirectories(temp.Combine("cache")));
    }

    [Fact]
    public void A_DoRA_adapter_is_refused_with_the_reason()
    {
        using var temp = new TempFolder();
        WriteAdapter(temp.Combine("adapter"));
        File.WriteAllText(temp.Combine("adapter", "adapter_config.json"), """{"r": 2, "lora_alpha": 4, "use_dora": true}""");
        var recipe = RecipeFiles.Write(temp, "merge_method: passthrough\nmodels:\n  - model: {models}/refunds+adapter\n");
        var error = Assert.Throws<MergeBuildException>(() => MergePlanner.Plan(RecipeParser.ParseFile(recipe),
            new PlanOptions { LoraCacheDirectory = temp.Combine("cache") }));
        Assert.Equal(ErrorCodes.UnsupportedMethod, error.Code);
        Assert.Contains("DoRA", error.Message, StringComparison.Ordinal);
    }
}
