using MergeBuild.Core.Tests.Execution;
using MergeBuild.Planning;
using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Planning;

/// <summary>
/// Gradients and filters evaluated per tensor as mergekit documents: layer i of an n-layer slice sits at
/// t = i/(n−1) (t = 1 for a one-layer slice), embeddings and every post-layer tensor at t = 0.
/// </summary>
public class ParameterPositionTests
{
    private static double Weight(MergePlan plan, string tensor, int input) =>
        plan.Jobs.Single(j => j.OutputName == tensor).Inputs[input].Parameter("weight");

    [Fact]
    public void Gradients_follow_the_layer_position_and_pre_and_post_tensors_use_t_zero()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters:
                  weight: [1.0, 0.0]
              - model: {models}/refunds
                parameters:
                  weight: [0.0, 1.0]
            """);

        // 4 layers: t = 0, 1/3, 2/3, 1. [1, 0] at t is 1 - t.
        Assert.Equal(1.0, Weight(plan, "model.layers.0.mlp.up_proj.weight", 0), 12);
        Assert.Equal(2.0 / 3, Weight(plan, "model.layers.1.mlp.up_proj.weight", 0), 12);
        Assert.Equal(1.0 / 3, Weight(plan, "model.layers.2.mlp.up_proj.weight", 0), 12);
        Assert.Equal(0.0, Weight(plan, "model.layers.3.mlp.up_proj.weight", 0), 12);
        Assert.Equal(1.0, Weight(plan, "model.layers.3.mlp.up_proj.weight", 1), 12);
        // Pre- and post-layer tensors take the first value of the gradient, not the last.
        Assert.Equal(1.0, Weight(plan, "model.embed_tokens.weight", 0));
        Assert.Equal(1.0, Weight(plan, "model.norm.weight", 0));
        Assert.Equal(1.0, Weight(plan, "lm_head.weight", 0));
        Assert.Equal(0.0, Weight(plan, "lm_head.weight", 1));
    }

    [Fact]
    public void A_single_layer_slice_sits_at_t_one()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, """
            merge_method: linear
            parameters:
              weight: [0.2, 0.8]
            slices:
              - sources:
                  - model: {models}/shipping
                    layer_range: [0, 1]
                  - model: {models}/refunds
                    layer_range: [0, 1]
              - sources:
                  - model: {models}/shipping
                    layer_range: [1, 4]
                  - model: {models}/refunds
                    layer_range: [1, 4]
            """);

        Assert.Equal(0.8, Weight(plan, "model.layers.0.self_attn.q_proj.weight", 0), 12);
        // The second slice restarts t: its layers sit at 0, 0.5, 1.
        Assert.Equal(0.2, Weight(plan, "model.layers.1.self_attn.q_proj.weight", 0), 12);
        Assert.Equal(0.5, Weight(plan, "model.layers.2.self_attn.q_proj.weight", 0), 12);
        Assert.Equal(0.8, Weight(plan, "model.layers.3.self_attn.q_proj.weight", 0), 12);
        Assert.Equal(0.2, Weight(plan, "model.embed_tokens.weight", 0), 12);
    }

    [Fact]
    public void Filters_match_substrings_of_the_input_tensor_name_and_the_first_match_wins()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, """
            merge_method: linear
            models:
              - model: {models}/shipping
                parameters:
                  weight:
                    - filter: mlp
                      value: 0.25
                    - filter: layers.1
                      value: 0.5
                    - value: 0.75
              - model: {models}/refunds
                parameters:
                  weight: 1
            """);

        Assert.Equal(0.25, Weight(plan, "model.layers.1.mlp.gate_proj.weight", 0));
        Assert.Equal(0.5, Weight(plan, "model.layers.1.self_attn.k_proj.weight", 0));
        Assert.Equal(0.75, Weight(plan, "model.layers.2.self_attn.k_proj.weight", 0));
        Assert.Equal(0.75, Weight(plan, "lm_head.weight", 0));
    }

    [Fact]
    public void Per_model_values_fall_back_to_the_top_level_and_then_to_the_method_default()
    {
        using var temp = new TempFolder();
        var plan = MergeRunner.Plan(temp, """
            merge_method: linear
            parameters:
              weight: 0.4
            models:
              - model: {models}/shipping
                parameters:
                  weight: 0.9
              - model: {models}/refunds
            """);

        Assert.Equal(0.9, Weight(plan, "model.norm.weight", 0));
        Assert.Equal(0.4, Weight(plan, "model.norm.weight", 1));
        // normalize is not set anywhere: linear's default is true.
        Assert.Equal(1.0, plan.Jobs[0].Parameter("normalize"));
    }
}
