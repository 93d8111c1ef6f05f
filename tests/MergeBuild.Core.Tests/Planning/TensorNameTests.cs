using MergeBuild.Planning;

namespace MergeBuild.Core.Tests.Planning;

public class TensorNameTests
{
    [Theory]
    [InlineData("model.embed_tokens.weight", TensorRole.PreLayer, -1)]
    [InlineData("transformer.wte.weight", TensorRole.PreLayer, -1)]
    [InlineData("model.layers.0.self_attn.q_proj.weight", TensorRole.Layer, 0)]
    [InlineData("model.layers.17.mlp.down_proj.weight", TensorRole.Layer, 17)]
    [InlineData("transformer.h.3.attn.c_attn.bias", TensorRole.Layer, 3)]
    [InlineData("model.norm.weight", TensorRole.PostLayer, -1)]
    [InlineData("lm_head.weight", TensorRole.PostLayer, -1)]
    [InlineData("gpt_neox.embed_out.weight", TensorRole.PostLayer, -1)]
    public void Names_are_classified_by_their_first_numeric_segment(string name, TensorRole role, int layer)
    {
        var parsed = TensorName.Parse(name);
        Assert.Equal(role, parsed.Role);
        Assert.Equal(layer, parsed.Layer);
    }

    [Fact]
    public void Layer_names_renumber_only_the_layer_segment()
    {
        var name = TensorName.Parse("model.layers.2.mlp.experts.7.w1.weight");
        Assert.Equal("model.layers.11.mlp.experts.7.w1.weight", name.ForLayer(11));
    }

    [Theory]
    [InlineData("model.embed_tokens.weight", true)]
    [InlineData("lm_head.weight", true)]
    [InlineData("model.norm.weight", false)]
    [InlineData("model.layers.0.mlp.up_proj.weight", false)]
    public void Embedding_like_tensors_are_recognised(string name, bool isEmbedding) =>
        Assert.Equal(isEmbedding, TensorName.Parse(name).IsEmbedding);
}
