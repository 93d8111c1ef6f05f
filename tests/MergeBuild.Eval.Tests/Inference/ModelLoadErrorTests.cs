using System.Text.Json.Nodes;
using MergeBuild.Diagnostics;
using MergeBuild.Eval.Inference;
using MergeBuild.Eval.Tests.Support;
using MergeBuild.Tests;

namespace MergeBuild.Eval.Tests.Inference;

public class ModelLoadErrorTests
{
    [Fact]
    public void An_architecture_outside_the_llama_family_is_refused_by_name()
    {
        using var temp = new TempFolder();
        new SyntheticModel { ModelType = "llama" }.Write(temp.Path);
        EditConfig(temp.Path, c => c["model_type"] = "gpt2");

        var error = Assert.Throws<MergeBuildException>(() => LlamaModel.Load(temp.Path));

        Assert.Equal(ErrorCodes.UnsupportedModel, error.Code);
        Assert.Contains("gpt2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_rope_scaling_is_refused_rather_than_run_wrongly()
    {
        using var temp = new TempFolder();
        new SyntheticModel { ModelType = "llama" }.Write(temp.Path);
        EditConfig(temp.Path, c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 });

        var error = Assert.Throws<MergeBuildException>(() => LlamaModel.Load(temp.Path));

        Assert.Equal(ErrorCodes.UnsupportedModel, error.Code);
        Assert.Contains("yarn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_that_disagrees_with_the_weights_names_the_tensor()
    {
        using var temp = new TempFolder();
        new SyntheticModel { ModelType = "llama" }.Write(temp.Path);
        EditConfig(temp.Path, c => c["intermediate_size"] = 64);

        var error = Assert.Throws<MergeBuildException>(() => LlamaModel.Load(temp.Path));

        Assert.Equal(ErrorCodes.ShapeMismatch, error.Code);
        Assert.Contains("mlp.gate_proj.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_layer_tensor_is_reported()
    {
        using var temp = new TempFolder();
        new SyntheticModel { ModelType = "llama" }.Write(temp.Path);
        EditConfig(temp.Path, c => c["num_hidden_layers"] = 3);

        var error = Assert.Throws<MergeBuildException>(() => LlamaModel.Load(temp.Path));

        Assert.Equal(ErrorCodes.MissingTensor, error.Code);
    }

    private static void EditConfig(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }
}
