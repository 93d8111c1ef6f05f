using System.Text.Json;
using MergeBuild.Tests;

namespace MergeBuild.Cli.Tests;

public class InspectCommandTests
{
    [Fact]
    public void Text_output_summarizes_the_fixture_model()
    {
        var result = CliRunner.Run("inspect", Fixtures.Model("catalog-sku"));
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("LlamaForCausalLM (llama)", result.Output, StringComparison.Ordinal);
        Assert.Contains("parameters    809,088", result.Output, StringComparison.Ordinal);
        Assert.Contains("vocab size    84", result.Output, StringComparison.Ordinal);
        Assert.Contains("BF16 x39", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"lm_head\.weight\s+BF16\s+\[84, 128\]\s+21,504", result.Output);
    }

    [Fact]
    public void Json_output_lists_every_tensor_of_a_sharded_model()
    {
        var result = CliRunner.Run("inspect", Fixtures.Model("refunds-sharded"), "--json");
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        Assert.Equal(39, root.GetProperty("tensor_count").GetInt32());
        Assert.Equal(808_832, root.GetProperty("parameter_count").GetInt64());
        Assert.Equal(1_617_664, root.GetProperty("bytes").GetInt64());
        Assert.Equal(4, root.GetProperty("layers").GetInt32());
        Assert.Equal(2, root.GetProperty("files").GetArrayLength());
        var head = root.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "lm_head.weight");
        Assert.Equal("model-00002-of-00002.safetensors", head.GetProperty("file").GetString());
        Assert.Equal([83, 128], head.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
    }

    [Fact]
    public void A_pickle_checkpoint_is_refused_with_an_explanation()
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp.Combine("pytorch_model.bin"), [0x80, 0x02]);
        var result = CliRunner.Run("inspect", temp.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error MB1002", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }
}
