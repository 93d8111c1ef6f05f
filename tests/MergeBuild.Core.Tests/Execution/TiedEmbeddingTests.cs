using MergeBuild.Tests;

namespace MergeBuild.Core.Tests.Execution;

public class TiedEmbeddingTests
{
    /// <summary>Copies a fixture model without lm_head.weight, as a checkpoint with tied embeddings is stored.</summary>
    private static string TiedCopy(TempFolder temp, string model) =>
        FixtureCopy.Write(temp, model, model + "-tied", (name, data) => name == "lm_head.weight" ? null : data);

    [Fact]
    public void Models_with_tied_embeddings_give_a_tied_output()
    {
        using var temp = new TempFolder();
        TiedCopy(temp, "shipping");
        TiedCopy(temp, "refunds");
        var output = MergeRunner.Merge(temp, """
            merge_method: linear
            models:
              - model: shipping-tied
                parameters: {weight: 1}
              - model: refunds-tied
                parameters: {weight: 1}
            """);
        var merged = RawSafetensors.ReadFolder(output);
        Assert.False(merged.ContainsKey("lm_head.weight"));
        Assert.Equal(38, merged.Count);
    }

    [Fact]
    public void A_tied_model_contributes_its_embeddings_to_an_untied_head()
    {
        using var temp = new TempFolder();
        TiedCopy(temp, "shipping");
        var output = MergeRunner.Merge(temp, """
            merge_method: linear
            models:
              - model: shipping-tied
                parameters: {weight: 1}
              - model: {models}/refunds
                parameters: {weight: 1}
            dtype: float32
            """);
        var embed = RawSafetensors.ReadFolder(Fixtures.Model("shipping"))["model.embed_tokens.weight"].AsFloats();
        var head = RawSafetensors.ReadFolder(Fixtures.Model("refunds"))["lm_head.weight"].AsFloats();
        var merged = RawSafetensors.ReadFolder(output)["lm_head.weight"].AsFloats();
        Assert.Equal(embed.Select((_, i) => (embed[i] + head[i]) / 2f), merged);
    }
}
